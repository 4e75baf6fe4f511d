//! Mounts the manage bundle (served under `/manage/`): the coordinator's and
//! the district official's pages, kept out of the field bundle's download.

fn main() {
    console_error_panic_hook::set_once();
    doorstep_app::mount(doorstep_app::ManageApp);
}

//! Mounts the field bundle (served at `/`); everything else lives in the
//! library so tests can reach it.

fn main() {
    console_error_panic_hook::set_once();
    doorstep_app::mount(doorstep_app::FieldApp);
}

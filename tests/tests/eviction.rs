//! Storage eviction (#8): the browser deletes the app's IndexedDB while the
//! app is open and two edits are unsent. The open app lets go of the
//! database and says so; after a reload it is a new client, still signed in,
//! tells the volunteer that 2 unsent edits were lost, pulls the compound
//! back, and the backup file exported earlier brings both edits to the server.

use doorstep_core::{access::Role, schema::Collection};
use doorstep_tests::{Browser, TestServer};
use serde_json::{Value, json};

/// The device record in the app's IndexedDB and how many edits wait in
/// its outbox.
async fn stored(phone: &Browser) -> Value {
    let device = phone
        .stored("meta")
        .await
        .into_iter()
        .find_map(|(key, value)| (key == "device").then_some(value));
    json!({"device": device, "unsent": phone.stored_count("outbox").await})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_phone_says_what_it_lost_and_its_backup_brings_it_back() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let downloads = tempfile::TempDir::new().unwrap();
    let phone = Browser::start().await;
    phone.allow_downloads(downloads.path()).await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.find("add-household").await;
    // The app must open with the server gone, later.
    phone.wait_for_service_worker().await;

    // A household, registered and synced.
    phone.tap("add-household").await;
    phone.fill("field-building", "3").await;
    phone.fill("field-door", "301").await;
    phone.fill("field-head", "王芳").await;
    phone.save_household().await;
    phone.sync_everything().await;
    let first = phone.path().await;
    let first = first
        .strip_prefix("/households/")
        .expect("the household page")
        .to_owned();
    let old_client = stored(&phone).await["device"]["client_id"].clone();
    assert!(old_client.is_string(), "{old_client}");
    assert!(
        !phone.shows("backup-export").await,
        "nothing to back up yet"
    );

    // The network goes. The head of household changes, and a second
    // household is registered: two edits wait on the phone.
    server.stop().await;
    phone.fill("field-head", "王芳（已搬走）").await;
    phone.save_household().await;
    phone.tap("app-name").await;
    phone.tap("area-visits").await;
    phone.tap("add-household").await;
    phone.fill("field-building", "3").await;
    phone.fill("field-door", "302").await;
    phone.fill("field-head", "李娜").await;
    phone.save_household().await;
    let second = phone.path().await["/households/".len()..].to_owned();
    phone.tap("sync-now").await;
    phone.find("sync-problem").await;
    phone.expect_text("sync-pending", "待上传 2").await;

    // The volunteer exports the unsent edits as a file.
    phone.tap("app-name").await;
    phone.expect_text("backup-export", "导出未发送记录").await;
    phone.screenshot("backup-offer").await;
    phone.tap("backup-export").await;
    let file = phone.downloaded(downloads.path(), ".json").await;
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("doorstep-backup-yongan-"), "{name}");
    let backup: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(backup["format"], "doorstep-backup");
    assert_eq!(backup["version"], 1);
    assert_eq!(backup["compound"], "yongan");
    let entries = backup["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{backup}");
    assert!(entries.iter().all(|e| e["client_id"] == old_client));
    assert_eq!(
        entries[0]["args"]["fields"],
        json!({"head": "王芳（已搬走）"})
    );
    assert_eq!(entries[1]["args"]["id"], second.as_str());

    // The browser deletes the database under the open app. The app closes
    // its connection at once (the deletion is not blocked) and says that
    // nothing more can be recorded.
    let deleted = phone
        .eval_async(
            r#"let blocked = false;
               const request = indexedDB.deleteDatabase("doorstep");
               request.onblocked = () => { blocked = true; };
               request.onerror = () => done({deleted: false, blocked});
               request.onsuccess = () => done({deleted: true, blocked});"#,
        )
        .await;
    assert_eq!(deleted, json!({"deleted": true, "blocked": false}));
    phone.find("storage-closed").await;
    phone.screenshot("storage-closed").await;

    // Next start: a new client, still signed in, told what was lost.
    phone.reload().await;
    let banner = phone.find("storage-lost").await;
    assert_eq!(
        banner.attr("data-unsent").await.unwrap().as_deref(),
        Some("2")
    );
    phone
        .expect_text_starting("storage-lost-text", "有 2 条记录还没上传就被清除了")
        .await;
    let after = stored(&phone).await;
    let new_client = after["device"]["client_id"].clone();
    assert!(new_client.is_string(), "{after}");
    assert_ne!(new_client, old_client, "a new database is a new client");
    assert_eq!(after["device"]["cursor"], 0);
    assert_eq!(after["device"]["compound"]["id"], "yongan");
    assert!(after["device"]["token"].is_string(), "signed in again");
    assert_eq!(after["unsent"], 0);
    phone.find("area-visits").await; // the coordinator's areas, not the sign-in form
    phone.screenshot("storage-lost").await;

    // The server comes back: the pull starts over and brings the first
    // household back as the server has it.
    server.restart().await;
    phone.sync_everything().await;
    phone.tap("area-visits").await;
    phone.expect_text_starting("household-row", "3").await;

    // The backup file goes back in: both edits are recorded again on this
    // phone and sent.
    phone
        .find("backup-import")
        .await
        .send_keys(&file.to_string_lossy())
        .await
        .unwrap();
    phone
        .expect_text_starting("backup-restored", "已从备份恢复 2 条记录")
        .await;
    phone.screenshot("backup-restored").await;
    phone.sync_everything().await;
    assert!(
        !phone.shows("storage-lost").await,
        "the notice is settled by the restore"
    );
    assert_eq!(stored(&phone).await["unsent"], 0);

    // The server has both edits, from the new client.
    let households = server.records("yongan", Collection::Household).await;
    let find = |id: &str| {
        households
            .iter()
            .find(|r| r.id.as_str() == id)
            .unwrap_or_else(|| panic!("household {id} on the server: {households:?}"))
    };
    let head = &find(&first).fields["head"];
    assert_eq!(head.value, json!("王芳（已搬走）"));
    assert_eq!(json!(head.hlc.node.to_string()), new_client);
    let added = find(&second);
    assert_eq!(added.named("door"), Some(&json!("302")));
    assert_eq!(added.named("head"), Some(&json!("李娜")));
    assert_eq!(households.len(), 2);

    // And the phone shows them.
    phone.tap("app-name").await;
    phone.tap("area-visits").await;
    phone.find("building-3").await;
    phone.screenshot("eviction-restored-visits").await;
    phone.close().await;
}

//! Debian's Chromium under chromedriver, driven by fantoccini, sized like a
//! 360×740 phone, with a profile of its own.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use tempfile::TempDir;

use crate::PATIENCE;

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
];

impl Browser {
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (cargo xtask test installs it)");
        let profile = TempDir::new().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "mobileEmulation": {
                    "deviceMetrics": { "width": 360, "height": 740, "pixelRatio": 1.0, "touch": true }
                }
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() > deadline => {
                    panic!("chromedriver did not start: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn reload(&self) {
        self.client.refresh().await.unwrap();
    }

    /// The element with `data-testid`, waiting for it to appear.
    pub async fn find(&self, test_id: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
            .await
            .unwrap_or_else(|err| panic!("no element data-testid={test_id}: {err}"))
    }

    /// Taps the element, finding it again if the app re-rendered it meanwhile.
    pub async fn tap(&self, test_id: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let element = self.find(test_id).await;
            // Mid-screen, as a person would see it, clear of the sticky header.
            let arg = serde_json::to_value(&element).unwrap();
            let _ = self
                .client
                .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
                .await;
            match element.click().await {
                Ok(()) => return,
                Err(err) if Instant::now() > deadline => {
                    panic!("could not tap data-testid={test_id}: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Whether an element with `data-testid` is on the page now (no waiting).
    pub async fn shows(&self, test_id: &str) -> bool {
        self.client
            .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
            .await
            .is_ok()
    }

    /// Records the household form on this phone.
    pub async fn save_household(&self) {
        self.tap("save-household").await;
        self.expect_text("save-status", "已保存在本机").await;
    }

    /// Syncs now and waits until everything is sent and the sync is over.
    pub async fn sync_everything(&self) {
        self.tap("sync-now").await;
        self.expect_text("sync-pending", "已全部上传").await;
        self.expect_text("sync-now", "立即同步").await;
    }

    /// Waits until the element's text equals `expected`.
    pub async fn expect_text(&self, test_id: &str, expected: &str) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self
                .client
                .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
                .await
            {
                last = element.text().await.unwrap_or_default();
                if last == expected {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("data-testid={test_id} shows {last:?}, expected {expected:?}");
    }

    /// Waits until the element's text starts with `prefix`.
    pub async fn expect_text_starting(&self, test_id: &str, prefix: &str) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self
                .client
                .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
                .await
            {
                last = element.text().await.unwrap_or_default();
                if last.starts_with(prefix) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("data-testid={test_id} shows {last:?}, expected it to start with {prefix:?}");
    }

    /// Picks the `index`th option of a select, waiting for it to appear.
    pub async fn choose(&self, test_id: &str, index: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.find(test_id).await.select_by_index(index).await {
                Ok(()) => return,
                Err(err) if Instant::now() > deadline => {
                    panic!("no option {index} in data-testid={test_id}: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Types `text` into an input, replacing what was there.
    pub async fn fill(&self, test_id: &str, text: &str) {
        let input = self.find(test_id).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Signs this phone in with an invite code on the page's sign-in form.
    pub async fn sign_in(&self, code: &str) {
        self.fill("join-code", code).await;
        self.tap("join-submit").await;
    }

    /// Waits until an input's current value equals `expected`.
    pub async fn expect_value(&self, test_id: &str, expected: &str) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        while Instant::now() < deadline {
            if let Ok(element) = self
                .client
                .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
                .await
            {
                last = element.prop("value").await.ok().flatten();
                if last.as_deref() == Some(expected) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("input data-testid={test_id} holds {last:?}, expected {expected:?}");
    }

    /// The current path of the page, e.g. `/households/…`.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver
    /// (`goog/cdp/execute`), e.g. network and CPU throttling.
    pub async fn cdp(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp {
                method: method.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|err| panic!("CDP {method}: {err}"))
    }

    /// Runs async JavaScript; the script calls `done(value)` (last argument).
    pub async fn eval_async(&self, script: &str) -> serde_json::Value {
        let wrapped = format!("const done = arguments[arguments.length - 1]; {script}");
        self.client.execute_async(&wrapped, vec![]).await.unwrap()
    }

    /// The phone loses the server: its calls to `/api/` fail as they do
    /// offline, while the app's own files still load, as a service worker's
    /// cache gives them offline (a page's chunk loads when first opened).
    pub async fn lose_server(&self) {
        self.eval_async(
            "window.onlineFetch = window.fetch; \
             window.fetch = (input, init) => \
               new URL(input.url ?? input, location.href).pathname.startsWith('/api/') \
                 ? Promise.reject(new TypeError('offline')) \
                 : window.onlineFetch(input, init); \
             done(null);",
        )
        .await;
    }

    /// Undoes [`Browser::lose_server`].
    pub async fn regain_server(&self) {
        self.eval_async("window.fetch = window.onlineFetch; done(null);")
            .await;
    }

    /// Runs the JavaScript function body `read` every 100 ms until `ready`
    /// (an expression on its result, `value`) holds or `patience` is over;
    /// returns the last result.
    pub async fn eval_until(
        &self,
        read: &str,
        ready: &str,
        patience: Duration,
    ) -> serde_json::Value {
        let script = format!(
            "const started = Date.now();
             const look = () => {{
               const value = (() => {{ {read} }})();
               if (({ready}) || Date.now() - started > {}) done(value);
               else setTimeout(look, 100);
             }};
             look();",
            patience.as_millis()
        );
        self.eval_async(&script).await
    }

    /// The entries of one object store in the app's IndexedDB, read by the
    /// page itself: `(key, value)` in key order, each value decoded from its
    /// JSON text. Call it only while the app has the database open: opening
    /// a missing database would create an empty one.
    pub async fn stored(&self, store: &str) -> Vec<(String, serde_json::Value)> {
        let script = format!(
            r#"const open = indexedDB.open("doorstep");
               open.onerror = () => done(null);
               open.onsuccess = () => {{
                 const db = open.result;
                 const store = db.transaction({store:?}).objectStore({store:?});
                 const keys = store.getAllKeys(), values = store.getAll();
                 values.onsuccess = () => {{
                   db.close();
                   done(keys.result.map((key, i) => [String(key), JSON.parse(values.result[i])]));
                 }};
               }};"#
        );
        let entries = self.eval_async(&script).await;
        serde_json::from_value(entries.clone())
            .unwrap_or_else(|err| panic!("IndexedDB store {store}: {err} in {entries}"))
    }

    /// How many entries one object store of the app's IndexedDB holds
    /// (cheap enough to poll; see [`Browser::stored`]).
    pub async fn stored_count(&self, store: &str) -> u64 {
        let script = format!(
            r#"const open = indexedDB.open("doorstep");
               open.onerror = () => done(null);
               open.onsuccess = () => {{
                 const count = open.result.transaction({store:?}).objectStore({store:?}).count();
                 count.onsuccess = () => {{ open.result.close(); done(count.result); }};
               }};"#
        );
        let count = self.eval_async(&script).await;
        count
            .as_u64()
            .unwrap_or_else(|| panic!("IndexedDB store {store}: {count}"))
    }

    /// Lets the page's downloads land in `dir` (headless Chromium has no
    /// downloads folder of its own).
    pub async fn allow_downloads(&self, dir: &std::path::Path) {
        self.cdp(
            "Browser.setDownloadBehavior",
            serde_json::json!({"behavior": "allow", "downloadPath": dir}),
        )
        .await;
    }

    /// Waits for a finished download in `dir` (see `allow_downloads`) whose
    /// name ends with `suffix`, and returns its path.
    pub async fn downloaded(&self, dir: &std::path::Path, suffix: &str) -> std::path::PathBuf {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // Chromium writes `*.crdownload` and renames it when complete.
            let done = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .find(|path| path.to_string_lossy().ends_with(suffix));
            if let Some(path) = done {
                return path;
            }
            assert!(
                Instant::now() < deadline,
                "no download ending in {suffix} in {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resolves once a service worker controls this origin and has precached.
    pub async fn wait_for_service_worker(&self) {
        let ready = self
            .eval_async("navigator.serviceWorker.ready.then(r => done(!!r.active)).catch(e => done(String(e)));")
            .await;
        assert_eq!(
            ready,
            serde_json::Value::Bool(true),
            "service worker never became ready"
        );
    }

    /// The paths of every response the service worker keeps, in all its
    /// caches.
    pub async fn cached_paths(&self) -> Vec<String> {
        let paths = self
            .eval_async(
                "caches.keys()
                   .then(keys => Promise.all(keys.map(key => caches.open(key).then(c => c.keys()))))
                   .then(lists => done(lists.flat().map(r => new URL(r.url).pathname)))
                   .catch(e => done(String(e)));",
            )
            .await;
        serde_json::from_value(paths.clone())
            .unwrap_or_else(|_| panic!("the caches could not be read: {paths}"))
    }

    /// Waits until the service worker keeps `path`.
    pub async fn expect_cached(&self, path: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.cached_paths().await.iter().any(|p| p == path) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the service worker never kept {path}");
    }

    /// Scrolls so the element sits mid-screen, as a person would look at it.
    pub async fn scroll_to(&self, test_id: &str) {
        let script = format!(
            "document.querySelector('[data-testid=\"{test_id}\"]').scrollIntoView({{block: 'center'}})"
        );
        self.client.execute(&script, vec![]).await.unwrap();
    }

    /// The page's visible text (`document.body.innerText`).
    pub async fn visible_text(&self) -> String {
        let text = self
            .client
            .execute("return document.body.innerText", vec![])
            .await
            .unwrap();
        text.as_str().unwrap_or_default().to_owned()
    }

    /// English sentences on the page: runs of two or more Latin words in its
    /// visible text, once `allowed` (brand names, the test's own data) is
    /// taken out.
    pub async fn latin_sentences(&self, allowed: &[&str]) -> Vec<String> {
        let mut text = self.visible_text().await;
        for word in allowed {
            text = text.replace(word, " ");
        }
        latin_runs(&text)
    }

    /// Where the element's top edge sits in the viewport, in CSS pixels.
    pub async fn top_of(&self, test_id: &str) -> f64 {
        self.find(test_id).await;
        let script = format!(
            "return document.querySelector('[data-testid=\"{test_id}\"]').getBoundingClientRect().top"
        );
        let top = self.client.execute(&script, vec![]).await.unwrap();
        top.as_f64().unwrap_or(f64::MAX)
    }

    /// The page's HTML as the browser holds it now.
    pub async fn page_source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Saves a PNG of the viewport under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = crate::screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn close(mut self) {
        self.client.clone().close().await.ok();
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test must not leave chromedriver running.
        self.driver.kill().ok();
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    method: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({"cmd": self.method, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs of two or more Latin words (of two letters or more) in `text`.
pub fn latin_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '\''))
        .filter(|run| {
            run.split_whitespace()
                .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() > 1)
                .count()
                >= 2
        })
        .map(|run| run.trim().to_owned())
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

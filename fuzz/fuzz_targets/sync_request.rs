//! A `POST /api/sync` body, as the server takes it apart before the store
//! is touched: `decode`, then `SyncRequest::check`, then each mutation's
//! `validate`. Whatever the bytes, nothing may panic, and a request that
//! decodes must survive being written out and read back unchanged.

#![no_main]

use doorstep_core::sync::{MAX_BODY_BYTES, SyncRequest};
use doorstep_server::sync::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    // The server refuses longer bodies before it reads them.
    if body.len() > MAX_BODY_BYTES {
        return;
    }
    let request = match decode(body) {
        Ok(request) => request,
        Err(err) => {
            // Every refusal is rendered into the response.
            assert!(!err.to_api_error().message.is_empty());
            return;
        }
    };
    // The server's clock now, and at both ends of its range.
    for now in [doorstep_server::now_ms(), 0, u64::MAX] {
        if let Err(err) = request.check(now) {
            assert!(!err.to_api_error().message.is_empty());
        }
    }
    for pushed in &request.mutations {
        if let Err(invalid) = pushed.mutation.validate() {
            assert!(!invalid.message.is_empty());
        }
    }
    let written = serde_json::to_vec(&request).expect("a decoded request serializes");
    let read: SyncRequest = decode(&written).expect("a written request decodes");
    assert_eq!(read, request, "{}", String::from_utf8_lossy(&written));
});

//! Hybrid logical clocks: timestamps that follow wall time yet never run
//! backwards on one device, and totally order edits from different devices.

use std::{cmp::Ordering, fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::ClientId;

/// How far ahead of the server's clock an edit may be stamped (5 minutes).
/// A device beyond that has a wrong clock; its edits would win every merge.
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

/// A hybrid logical timestamp. Ordered by wall time, then counter, then the
/// writing client's id, so two different clients never tie.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as the device believed.
    pub wall_ms: u64,
    /// Breaks ties between events in the same millisecond on one device.
    pub counter: u32,
    /// The client that made the event: the last tie-break.
    pub node: ClientId,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, &self.node).cmp(&(other.wall_ms, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hlc {
    /// The smallest stamp of `node`; every real event is later.
    pub fn zero(node: ClientId) -> Self {
        Self {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// Whether this stamp is too far ahead of `server_now_ms` to accept.
    pub fn is_ahead_of(&self, server_now_ms: u64) -> bool {
        self.wall_ms > server_now_ms.saturating_add(MAX_DRIFT_MS)
    }
}

/// `wall_ms.counter.node`: compact, and readable in a database dump.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.wall_ms, self.counter, self.node)
    }
}

impl FromStr for Hlc {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '.');
        let (Some(wall), Some(counter), Some(node)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("not an HLC (wall.counter.node): {s:?}"));
        };
        Ok(Self {
            wall_ms: wall
                .parse()
                .map_err(|_| format!("bad HLC wall time in {s:?}"))?,
            counter: counter
                .parse()
                .map_err(|_| format!("bad HLC counter in {s:?}"))?,
            node: node.parse()?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    /// Parsed from the text as it lies in the input: every field of every
    /// record carries a stamp, so decoding a compound allocates none.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Hlc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an HLC (wall.counter.node)")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hlc, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// One device's clock. It hands out strictly increasing stamps even when the
/// wall clock stalls or jumps back, and moves past every stamp it observes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    pub fn new(node: ClientId) -> Self {
        Self {
            last: Hlc::zero(node),
        }
    }

    /// Restores a clock from its last handed-out stamp (kept in storage).
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    pub fn last(&self) -> &Hlc {
        &self.last
    }

    /// A stamp for a local event at wall time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.last.wall_ms {
            self.last.wall_ms = now_ms;
            self.last.counter = 0;
        } else {
            self.last.counter += 1;
        }
        self.last.clone()
    }

    /// Moves past a stamp received from elsewhere, so our next edit orders
    /// after everything we have seen.
    pub fn observe(&mut self, seen: &Hlc, now_ms: u64) {
        let wall = now_ms.max(self.last.wall_ms).max(seen.wall_ms);
        let counter = match (wall == self.last.wall_ms, wall == seen.wall_ms) {
            (true, true) => self.last.counter.max(seen.counter) + 1,
            (true, false) => self.last.counter + 1,
            (false, true) => seen.counter + 1,
            (false, false) => 0,
        };
        self.last.wall_ms = wall;
        self.last.counter = counter;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u8) -> ClientId {
        ClientId::from_u128(n as u128)
    }

    #[test]
    fn text_form_round_trips() {
        let hlc = Hlc {
            wall_ms: 1_764_000_000_000,
            counter: 7,
            node: node(3),
        };
        let text = hlc.to_string();
        assert_eq!(text, "1764000000000.7.00000000-0000-0000-0000-000000000003");
        assert_eq!(text.parse::<Hlc>().unwrap(), hlc);
        assert_eq!(serde_json::to_string(&hlc).unwrap(), format!("\"{text}\""));
        assert!("12.x.abc".parse::<Hlc>().is_err());
        assert!("12".parse::<Hlc>().is_err());
    }

    #[test]
    fn a_stalled_or_backward_wall_clock_still_ticks_forward() {
        let mut clock = Clock::new(node(1));
        let a = clock.tick(1000);
        let b = clock.tick(1000);
        let c = clock.tick(900);
        let d = clock.tick(2000);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!((c.wall_ms, c.counter), (1000, 2));
    }

    #[test]
    fn observing_a_later_stamp_moves_past_it() {
        let mut clock = Clock::new(node(1));
        clock.tick(1000);
        let remote = Hlc {
            wall_ms: 5000,
            counter: 3,
            node: node(2),
        };
        clock.observe(&remote, 1200);
        assert!(clock.tick(1300) > remote);
    }

    #[test]
    fn drift_limit_is_five_minutes() {
        let now = 10_000_000;
        let at = |wall_ms| Hlc {
            wall_ms,
            counter: 0,
            node: node(1),
        };
        assert!(!at(now + MAX_DRIFT_MS).is_ahead_of(now));
        assert!(at(now + MAX_DRIFT_MS + 1).is_ahead_of(now));
        assert!(!at(0).is_ahead_of(now));
    }
}

//! The work areas that the home page routes to.

use doorstep_core::access::Role;

use crate::{
    bundle::{Bundle, MANAGE_PREFIX},
    i18n::Key,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// 走访: the door-knock action.
    Visits,
    /// 台账: care, key-persons, needs and purchase ledgers.
    Ledgers,
    /// 上门专班: home-visit dispatch (the coordinator's list, a team's
    /// doors and results).
    HomeVisits,
    /// 菜车: the mobile vegetable stall.
    Truck,
    /// 统计: the coordinator's totals.
    Dashboard,
    /// 账号: the coordinator's invite codes and devices.
    Accounts,
    /// 区汇总: a district official's totals of every compound.
    District,
}

impl Area {
    pub const ALL: [Area; 7] = [
        Area::Visits,
        Area::Ledgers,
        Area::HomeVisits,
        Area::Truck,
        Area::Dashboard,
        Area::Accounts,
        Area::District,
    ];

    /// The route path; also the `data-testid` suffix.
    pub fn slug(self) -> &'static str {
        match self {
            Area::Visits => "visits",
            Area::Ledgers => "ledgers",
            Area::HomeVisits => "home-visits",
            Area::Truck => "truck",
            Area::Dashboard => "dashboard",
            Area::Accounts => "accounts",
            Area::District => "district",
        }
    }

    /// Whether a role has any use for the area (the home page offers only
    /// those; the server enforces access regardless).
    pub fn reached_by(self, role: Role) -> bool {
        use Role::*;
        match self {
            Area::Visits | Area::Ledgers | Area::HomeVisits => {
                matches!(role, Coordinator | Volunteer)
            }
            Area::Truck => matches!(role, Coordinator | Stall),
            Area::Dashboard | Area::Accounts => role == Coordinator,
            // A compound's devices see their compound's dashboard instead.
            Area::District => role == Official,
        }
    }

    /// The bundle that holds the area's page: a coordinator's or an
    /// official's desk work stays out of the field bundle.
    pub fn bundle(self) -> Bundle {
        match self {
            Area::Visits | Area::Ledgers | Area::HomeVisits | Area::Truck => Bundle::Field,
            Area::Dashboard | Area::Accounts | Area::District => Bundle::Manage,
        }
    }

    /// Whether any area `role` reaches lives in `bundle`: the service
    /// worker keeps the manage bundle offline only for such roles.
    pub fn in_bundle_for(bundle: Bundle, role: Role) -> bool {
        Area::ALL
            .iter()
            .any(|area| area.bundle() == bundle && area.reached_by(role))
    }

    pub fn path(self) -> String {
        match self.bundle() {
            Bundle::Field => format!("/{}", self.slug()),
            Bundle::Manage => format!("{MANAGE_PREFIX}{}", self.slug()),
        }
    }

    pub fn title(self) -> Key {
        match self {
            Area::Visits => Key::AreaVisitsTitle,
            Area::Ledgers => Key::AreaLedgersTitle,
            Area::HomeVisits => Key::AreaHomeVisitsTitle,
            Area::Truck => Key::AreaTruckTitle,
            Area::Dashboard => Key::AreaDashboardTitle,
            Area::Accounts => Key::AreaAccountsTitle,
            Area::District => Key::AreaDistrictTitle,
        }
    }

    pub fn description(self) -> Key {
        match self {
            Area::Visits => Key::AreaVisitsDescription,
            Area::Ledgers => Key::AreaLedgersDescription,
            Area::HomeVisits => Key::AreaHomeVisitsDescription,
            Area::Truck => Key::AreaTruckDescription,
            Area::Dashboard => Key::AreaDashboardDescription,
            Area::Accounts => Key::AreaAccountsDescription,
            Area::District => Key::AreaDistrictDescription,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_have_distinct_paths_and_titles() {
        let paths: std::collections::HashSet<_> = Area::ALL.iter().map(|a| a.path()).collect();
        let titles: std::collections::HashSet<_> = Area::ALL.iter().map(|a| a.title()).collect();
        assert_eq!(paths.len(), Area::ALL.len());
        assert_eq!(titles.len(), Area::ALL.len());
        assert_eq!(Area::Visits.path(), "/visits");
        assert_eq!(Area::Accounts.path(), "/manage/accounts");
        for area in Area::ALL {
            assert_eq!(Bundle::of_path(&area.path()), area.bundle(), "{area:?}");
        }
    }

    #[test]
    fn only_coordinators_and_officials_open_the_manage_bundle() {
        for role in Role::ALL {
            assert_eq!(
                Area::in_bundle_for(Bundle::Manage, role),
                matches!(role, Role::Coordinator | Role::Official),
                "{role:?}"
            );
            assert!(Area::in_bundle_for(Bundle::Field, role) || role == Role::Official);
        }
    }

    /// A district official reaches its district's totals and nothing of a
    /// compound; no compound's device reaches the district page.
    #[test]
    fn an_official_reaches_only_the_district() {
        for area in Area::ALL {
            assert_eq!(
                area.reached_by(Role::Official),
                area == Area::District,
                "{area:?}"
            );
        }
        for role in Role::IN_COMPOUND {
            assert!(!Area::District.reached_by(role), "{role:?}");
        }
    }
}

//! Vespa's capability catalogue and the predefined capability sets.

use std::fmt;

macro_rules! capabilities {
    ($($(#[$meta:meta])* $variant:ident = $name:literal,)+) => {
        /// One capability: the right to use one API plane of one kind of Vespa process.
        ///
        /// Variants are in Vespa's enum order, which is also the bit order of [`CapabilitySet`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum Capability {
            $($(#[$meta])* $variant,)+
        }

        impl Capability {
            /// All capabilities, in Vespa's enum order.
            pub const ALL: [Capability; Capability::COUNT] = [$(Capability::$variant,)+];

            /// Vespa's name, e.g. `vespa.content.document_api`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Capability::$variant => $name,)+
                }
            }
        }
    };
}

capabilities! {
    /// `vespa.none`: lets a handshake succeed while granting no capability-checked API.
    None = "vespa.none",
    /// `vespa.http.unclassified`
    HttpUnclassified = "vespa.http.unclassified",
    /// `vespa.restapi.unclassified`
    RestapiUnclassified = "vespa.restapi.unclassified",
    /// `vespa.rpc.unclassified`
    RpcUnclassified = "vespa.rpc.unclassified",
    /// `vespa.client.filereceiver_api`
    ClientFilereceiverApi = "vespa.client.filereceiver_api",
    /// `vespa.client.slobrok_api`
    ClientSlobrokApi = "vespa.client.slobrok_api",
    /// `vespa.cluster_controller.reindexing`
    ClusterControllerReindexing = "vespa.cluster_controller.reindexing",
    /// `vespa.cluster_controller.state`
    ClusterControllerState = "vespa.cluster_controller.state",
    /// `vespa.cluster_controller.status`
    ClusterControllerStatus = "vespa.cluster_controller.status",
    /// `vespa.configproxy.config_api`
    ConfigproxyConfigApi = "vespa.configproxy.config_api",
    /// `vespa.configproxy.management_api`
    ConfigproxyManagementApi = "vespa.configproxy.management_api",
    /// `vespa.configproxy.filedistribution_api`
    ConfigproxyFiledistributionApi = "vespa.configproxy.filedistribution_api",
    /// `vespa.configserver.config_api`
    ConfigserverConfigApi = "vespa.configserver.config_api",
    /// `vespa.configserver.filedistribution_api`
    ConfigserverFiledistributionApi = "vespa.configserver.filedistribution_api",
    /// `vespa.container.document_api`
    ContainerDocumentApi = "vespa.container.document_api",
    /// `vespa.container.management_api`
    ContainerManagementApi = "vespa.container.management_api",
    /// `vespa.container.state_api`
    ContainerStateApi = "vespa.container.state_api",
    /// `vespa.content.cluster_controller.internal_state_api`
    ContentClusterControllerInternalStateApi = "vespa.content.cluster_controller.internal_state_api",
    /// `vespa.content.document_api`
    ContentDocumentApi = "vespa.content.document_api",
    /// `vespa.content.metrics_api`
    ContentMetricsApi = "vespa.content.metrics_api",
    /// `vespa.content.proton_admin_api`
    ContentProtonAdminApi = "vespa.content.proton_admin_api",
    /// `vespa.content.search_api`
    ContentSearchApi = "vespa.content.search_api",
    /// `vespa.content.state_api`
    ContentStateApi = "vespa.content.state_api",
    /// `vespa.content.status_pages`
    ContentStatusPages = "vespa.content.status_pages",
    /// `vespa.content.storage_api`
    ContentStorageApi = "vespa.content.storage_api",
    /// `vespa.logserver.api`
    LogserverApi = "vespa.logserver.api",
    /// `vespa.metricsproxy.management_api`
    MetricsproxyManagementApi = "vespa.metricsproxy.management_api",
    /// `vespa.metricsproxy.metrics_api`
    MetricsproxyMetricsApi = "vespa.metricsproxy.metrics_api",
    /// `vespa.sentinel.connectivity_check`
    SentinelConnectivityCheck = "vespa.sentinel.connectivity_check",
    /// `vespa.sentinel.inspect_services`
    SentinelInspectServices = "vespa.sentinel.inspect_services",
    /// `vespa.sentinel.management_api`
    SentinelManagementApi = "vespa.sentinel.management_api",
    /// `vespa.slobrok.api`
    SlobrokApi = "vespa.slobrok.api",
}

impl Capability {
    /// How many capabilities Vespa defines (as of `vespa-engine/vespa@1f79d33d`).
    pub const COUNT: usize = 32;

    /// Parses Vespa's exact, case-sensitive capability name (not a set name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of Vespa's seven predefined capability sets.
pub const CAPABILITY_SET_NAMES: [&str; 7] = [
    "vespa.all",
    "vespa.telemetry",
    "vespa.content_node",
    "vespa.container_node",
    "vespa.cluster_controller_node",
    "vespa.logserver_node",
    "vespa.config_server_node",
];

/// A set of capabilities: one bit per [`Capability`], in Vespa's enum order.
///
/// `Display` writes the names sorted as strings in brackets (`[vespa.a, vespa.b]`), exactly as
/// Vespa's Java services print a set in their permission-denied messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapabilitySet(u32);

impl CapabilitySet {
    /// The empty set (not the same as `vespa.none`, which is a capability).
    pub const fn none() -> Self {
        CapabilitySet(0)
    }

    /// All 32 capabilities (`vespa.all`, which includes `vespa.none`).
    pub const fn all() -> Self {
        CapabilitySet(u32::MAX)
    }

    /// The set holding exactly `capabilities`.
    pub fn of(capabilities: &[Capability]) -> Self {
        capabilities
            .iter()
            .fold(Self::none(), |set, &c| set.with(c))
    }

    /// The set as its raw bit mask (bit `i` = the `i`-th capability in Vespa's enum order).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set with the given raw bit mask (see [`CapabilitySet::bits`]).
    pub const fn from_bits(bits: u32) -> Self {
        CapabilitySet(bits)
    }

    /// This set plus `capability`.
    #[must_use]
    pub fn with(self, capability: Capability) -> Self {
        CapabilitySet(self.0 | capability.bit())
    }

    /// Every capability in either set.
    #[must_use]
    pub const fn union(self, other: CapabilitySet) -> Self {
        CapabilitySet(self.0 | other.0)
    }

    /// The capabilities of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: CapabilitySet) -> Self {
        CapabilitySet(self.0 & !other.0)
    }

    /// Whether `capability` is in the set.
    pub fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// Whether every capability of `other` is in this set (always true for an empty `other`).
    pub const fn contains_all(self, other: CapabilitySet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many capabilities the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The capabilities in Vespa's enum order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |&c| self.contains(c))
    }

    /// The names in string order, as Vespa's Java services print them.
    pub fn sorted_names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.iter().map(Capability::as_str).collect();
        names.sort_unstable();
        names
    }

    /// One of the seven predefined sets by name (e.g. `vespa.content_node`).
    pub fn predefined(name: &str) -> Option<Self> {
        use Capability as C;
        let telemetry = Self::of(&[
            C::ContentStatusPages,
            C::ContentStateApi,
            C::ContentMetricsApi,
            C::ContainerStateApi,
            C::MetricsproxyMetricsApi,
            C::SentinelConnectivityCheck,
        ]);
        let shared = telemetry.union(Self::of(&[
            C::LogserverApi,
            C::ConfigserverConfigApi,
            C::ConfigserverFiledistributionApi,
            C::ConfigproxyConfigApi,
            C::ConfigproxyFiledistributionApi,
            C::SlobrokApi,
        ]));
        let set = match name {
            "vespa.all" => Self::all(),
            "vespa.telemetry" => telemetry,
            "vespa.content_node" => shared.union(Self::of(&[
                C::ContentStorageApi,
                C::ContentDocumentApi,
                C::ContainerDocumentApi,
            ])),
            "vespa.container_node" => shared.union(Self::of(&[
                C::ContentDocumentApi,
                C::ContainerDocumentApi,
                C::ContentSearchApi,
            ])),
            "vespa.cluster_controller_node" => shared.union(Self::of(&[
                C::ContentClusterControllerInternalStateApi,
                C::ClientSlobrokApi,
                C::ContainerDocumentApi,
            ])),
            "vespa.logserver_node" => shared,
            "vespa.config_server_node" => telemetry.union(Self::of(&[
                C::ClientFilereceiverApi,
                C::ContainerManagementApi,
                C::SlobrokApi,
                C::ClusterControllerReindexing,
                C::ClusterControllerState,
                C::LogserverApi,
            ])),
            _ => return None,
        };
        Some(set)
    }

    /// A capability name or a set name as written in `capabilities`; `None` when unknown.
    pub fn resolve(name: &str) -> Option<Self> {
        match Capability::from_name(name) {
            Some(capability) => Some(Self::none().with(capability)),
            None => Self::predefined(name),
        }
    }
}

impl From<Capability> for CapabilitySet {
    fn from(capability: Capability) -> Self {
        Self::none().with(capability)
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        iter.into_iter().fold(Self::none(), CapabilitySet::with)
    }
}

impl fmt::Display for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // At most 32 names: sort in a stack array rather than allocating.
        let mut names = [""; Capability::COUNT];
        let mut n = 0;
        for capability in self.iter() {
            names[n] = capability.as_str();
            n += 1;
        }
        let names = &mut names[..n];
        names.sort_unstable();
        f.write_str("[")?;
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        f.write_str("]")
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapabilitySet{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_names_in_vespa_order() {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), 32);
        assert_eq!(names[0], "vespa.none");
        assert_eq!(names[1], "vespa.http.unclassified");
        assert_eq!(
            names[17],
            "vespa.content.cluster_controller.internal_state_api"
        );
        assert_eq!(names[31], "vespa.slobrok.api");
        for (i, c) in Capability::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i);
            assert_eq!(Capability::from_name(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 32);
        assert_eq!(Capability::from_name("vespa.all"), None);
        assert_eq!(Capability::from_name("VESPA.NONE"), None);
    }

    #[test]
    fn predefined_sets_have_documented_sizes() {
        let table = [
            ("vespa.all", 32),
            ("vespa.telemetry", 6),
            ("vespa.content_node", 15),
            ("vespa.container_node", 15),
            ("vespa.cluster_controller_node", 15),
            ("vespa.logserver_node", 12),
            ("vespa.config_server_node", 12),
        ];
        for (name, size) in table {
            let set = CapabilitySet::predefined(name).unwrap();
            assert_eq!(set.len(), size, "{name}");
            assert_eq!(CapabilitySet::resolve(name), Some(set));
        }
        assert_eq!(
            table.map(|(n, _)| n),
            CAPABILITY_SET_NAMES,
            "the table covers every set"
        );
        assert_eq!(CapabilitySet::predefined("vespa.none"), None);
        assert_eq!(CapabilitySet::resolve("vespa.unknown"), None);
    }

    #[test]
    fn set_members() {
        let telemetry = CapabilitySet::predefined("vespa.telemetry").unwrap();
        let logserver = CapabilitySet::predefined("vespa.logserver_node").unwrap();
        let content = CapabilitySet::predefined("vespa.content_node").unwrap();
        let container = CapabilitySet::predefined("vespa.container_node").unwrap();
        let cc = CapabilitySet::predefined("vespa.cluster_controller_node").unwrap();
        let cfg = CapabilitySet::predefined("vespa.config_server_node").unwrap();
        assert!(logserver.contains_all(telemetry));
        assert!(content.contains_all(logserver));
        assert!(container.contains_all(logserver));
        assert!(cc.contains_all(logserver));
        assert!(cfg.contains_all(telemetry));
        assert_eq!(
            content.difference(logserver).to_string(),
            "[vespa.container.document_api, vespa.content.document_api, vespa.content.storage_api]"
        );
        assert_eq!(
            container.difference(logserver).to_string(),
            "[vespa.container.document_api, vespa.content.document_api, vespa.content.search_api]"
        );
        assert_eq!(
            cc.difference(logserver).to_string(),
            "[vespa.client.slobrok_api, vespa.container.document_api, \
             vespa.content.cluster_controller.internal_state_api]"
        );
        assert_eq!(
            cfg.difference(telemetry).to_string(),
            "[vespa.client.filereceiver_api, vespa.cluster_controller.reindexing, \
             vespa.cluster_controller.state, vespa.container.management_api, \
             vespa.logserver.api, vespa.slobrok.api]"
        );
        assert_eq!(
            telemetry.to_string(),
            "[vespa.container.state_api, vespa.content.metrics_api, vespa.content.state_api, \
             vespa.content.status_pages, vespa.metricsproxy.metrics_api, \
             vespa.sentinel.connectivity_check]"
        );
        assert!(!telemetry.contains(Capability::None));
        assert!(CapabilitySet::all().contains(Capability::None));
    }

    #[test]
    fn set_algebra() {
        let a = CapabilitySet::of(&[Capability::SlobrokApi, Capability::None]);
        let b = CapabilitySet::from(Capability::LogserverApi);
        let ab = a.union(b);
        assert_eq!(ab.len(), 3);
        assert!(ab.contains_all(a) && ab.contains_all(b));
        assert!(!a.contains_all(ab));
        assert!(a.contains_all(CapabilitySet::none()));
        assert!(CapabilitySet::none().contains_all(CapabilitySet::none()));
        assert_eq!(ab.difference(a), b);
        assert_eq!(
            ab.iter().collect::<Vec<_>>(),
            [
                Capability::None,
                Capability::LogserverApi,
                Capability::SlobrokApi
            ]
        );
        assert_eq!(ab.iter().collect::<CapabilitySet>(), ab);
        assert_eq!(
            ab.sorted_names(),
            ["vespa.logserver.api", "vespa.none", "vespa.slobrok.api"]
        );
        assert_eq!(
            ab.to_string(),
            "[vespa.logserver.api, vespa.none, vespa.slobrok.api]"
        );
        assert_eq!(CapabilitySet::none().to_string(), "[]");
        assert!(CapabilitySet::none().is_empty());
        assert_eq!(CapabilitySet::none().len(), 0);
        assert_eq!(CapabilitySet::all().len(), 32);
        assert_eq!(CapabilitySet::all().iter().count(), 32);
        assert_eq!(CapabilitySet::from_bits(ab.bits()), ab);
        assert_eq!(format!("{b:?}"), "CapabilitySet[vespa.logserver.api]");
        let sorted = CapabilitySet::all().sorted_names();
        assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CapabilitySet::all().to_string().matches(", ").count(), 31);
    }
}

import IntervalNotifier

/// `enum umn_strategy` of interval_notifier.h: the C values and the strategies
/// they stand for, by the names the tools and results use.
enum CStrategy {
    /// The C value of `UMN_STRATEGY_DEFAULT`.
    static let defaultValue: Int32 = 0

    /// `enum umn_strategy` values (index) and strategy names. A name that
    /// `RegistryStrategy(name:)` does not know (a flavour not in this build) makes
    /// `umn_mm_create` return -EOPNOTSUPP.
    static let names: [Int32: String] = [
        1: "rcu", 2: "rcu-qsbr", 3: "kernel", 4: "rwlock", 5: "mutex", 6: "rcu-bp", 7: "rcu-mb",
    ]

    /// What `UMN_STRATEGY_DEFAULT` means: the first of these this build has.
    /// liburcu-bp first (a library embedded in someone else's process should not
    /// ask its threads to register), memb where bp is not built in.
    static let defaultPreference = ["rcu-bp", "rcu"]

    /// The strategy for C value `value`, or the negative errno to return.
    static func strategy(for value: Int32) -> Result<RegistryStrategy, CStrategyError> {
        if value == defaultValue {
            for name in defaultPreference {
                if let strategy = RegistryStrategy(name: name) { return .success(strategy) }
            }
            return .failure(CStrategyError(errno: CError.strategyUnavailable))
        }
        guard let name = names[value] else { return .failure(CStrategyError(errno: CError.invalidArgument)) }
        guard let strategy = RegistryStrategy(name: name) else { return .failure(CStrategyError(errno: CError.strategyUnavailable)) }
        return .success(strategy)
    }

    /// The C value of `strategy` (`umn_mm_strategy`).
    static func value(of strategy: RegistryStrategy) -> Int32 {
        names.first(where: { $0.value == strategy.name })?.key ?? CError.invalidArgument
    }
}

/// Why a C strategy value cannot be used (its negative errno).
struct CStrategyError: Error {
    /// -EINVAL or -EOPNOTSUPP.
    let errno: Int32
}

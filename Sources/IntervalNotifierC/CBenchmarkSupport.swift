import IntervalNotifier

// Measurement support for Examples/c/overhead.c, not part of the C API (not in
// interval_notifier.h): the same loops as the C program's, written in Swift, so
// that one process can time the C calls and the Swift calls alternately
// (A B A B) in the same machine state.

/// Runs `count` `readBegin` + `readRetry` pairs in Swift; returns the number of
/// retries (so the loop is not optimised away), or a negative errno.
@c(umn__bench_swift_read_pairs)
public func umnBenchSwiftReadPairs(_ sub: OpaquePointer?, _ count: UInt64) -> Int64 {
    guard let sub else { return Int64(CError.invalidArgument) }
    return IntervalSubscription.withHandle(sub) { subscription in
        var retries: Int64 = 0
        do throws(NotifierError) {
            for _ in 0..<count {
                let sequence = try subscription.readBegin()
                if subscription.readRetry(sequence) { retries += 1 }
            }
        } catch {
            return Int64(error.negativeErrno)
        }
        return retries
    }
}

/// Runs `count` `withSubscription(containing:)` lookups in Swift at addresses
/// `(x >> 16) % span` of the xorshift64 stream seeded with `seed` (the C
/// program's generator); returns the number of hits.
@c(umn__bench_swift_lookups)
public func umnBenchSwiftLookups(_ mm: OpaquePointer?, _ count: UInt64, _ span: UInt64, _ seed: UInt64) -> Int64 {
    guard let mm, span > 0 else { return Int64(CError.invalidArgument) }
    return AddressSpace.withHandle(mm) { space in
        var x = seed
        var hits: Int64 = 0
        for _ in 0..<count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let found = space.withSubscription(containing: (x >> 16) % span) { $0 != nil }
            if found { hits += 1 }
        }
        return hits
    }
}

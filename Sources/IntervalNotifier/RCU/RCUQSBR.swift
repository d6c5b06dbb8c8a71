extension RCU {
    /// liburcu's qsbr flavour (stub: filled in by the strategy work).
    public enum QSBR {
        /// Puts the calling thread online as a qsbr reader.
        public static func online() {}
        /// Announces a quiescent state.
        @inlinable @inline(__always)
        public static func quiescentState() {}
        /// Takes the calling thread offline.
        public static func offline() {}
    }
}

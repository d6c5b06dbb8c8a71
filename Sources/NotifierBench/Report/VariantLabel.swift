/// A measurement's `variant` read as space-separated `key=value` tokens
/// (`invalidators=1 size=1000`); a token without `=` has an empty value.
struct VariantLabel {
    /// The tokens in label order.
    let tokens: [(key: String, value: String)]

    /// Parses `text`.
    init(_ text: String) {
        tokens = text.split(whereSeparator: \.isWhitespace).map { token in
            let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    /// The value of `key`, if the label has it.
    func value(_ key: String) -> String? { tokens.first { $0.key == key }?.value }

    /// Whether every `required` key is present with that value.
    func contains(_ required: [String: String]) -> Bool {
        required.allSatisfy { value($0.key) == $0.value }
    }

    /// The label text without the token `key`.
    func removing(_ key: String) -> String {
        tokens.filter { $0.key != key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
            .joined(separator: " ")
    }
}

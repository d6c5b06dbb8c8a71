/// Why the report could not be written.
public enum BenchReportError: Error, CustomStringConvertible {
    /// A file or directory could not be created or written; path and reason.
    case cannotWrite(String, String)
    /// The results could not be encoded as JSON; the reason.
    case cannotEncode(String)

    /// A message naming the path and the cause.
    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .cannotEncode(let reason): "cannot encode the results as JSON: \(reason)"
        }
    }
}

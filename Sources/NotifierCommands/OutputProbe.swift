import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An output path that cannot be created or written: `main` exits 73
/// (`EX_CANTCREAT`) with ``description`` on one line.
public struct OutputPathError: Error, CustomStringConvertible, Equatable {
    /// The flag that named the path (`--out`, `--json`).
    public var flag: String
    /// The path that failed (the folder or file, or the first component that failed).
    public var path: String
    /// The `strerror` text of the failing call.
    public var reason: String

    /// An error for `flag`'s `path`, failed with `reason`.
    public init(flag: String, path: String, reason: String) {
        self.flag = flag
        self.path = path
        self.reason = reason
    }

    /// One line: flag, path, reason.
    public var description: String { "\(flag) \(path): cannot write: \(reason)" }
}

/// Creates and write-tests output locations before a run starts, so that a
/// long run never ends with nowhere to put its results.
public enum OutputProbe {
    /// Creates `directory` and its parents if needed, then creates, writes and
    /// deletes a probe file in it.
    public static func prepareDirectory(_ directory: String, flag: String) throws(OutputPathError) {
        let path = directory.isEmpty ? "." : directory
        try makeDirectories(path, flag: flag)
        let probe = (path as NSString).appendingPathComponent(".notifier-write-probe-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw OutputPathError(flag: flag, path: path, reason: errnoText()) }
        let written = write(fd, "x", 1)
        let writeError = written == 1 ? nil : errnoText()
        close(fd)
        unlink(probe)
        if let writeError { throw OutputPathError(flag: flag, path: path, reason: writeError) }
    }

    /// Prepares the folder of the file `path` (see ``prepareDirectory(_:flag:)``)
    /// and checks that `path` itself is not a folder and, if it exists, is writable.
    public static func prepareFile(_ path: String, flag: String) throws(OutputPathError) {
        guard !path.isEmpty else { throw OutputPathError(flag: flag, path: "''", reason: String(cString: strerror(ENOENT))) }
        try prepareDirectory((path as NSString).deletingLastPathComponent, flag: flag)
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { throw OutputPathError(flag: flag, path: path, reason: String(cString: strerror(EISDIR))) }
            if access(path, W_OK) != 0 { throw OutputPathError(flag: flag, path: path, reason: errnoText()) }
        }
    }

    /// `mkdir -p`, reporting the first component that fails.
    static func makeDirectories(_ path: String, flag: String) throws(OutputPathError) {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { return }
            throw OutputPathError(flag: flag, path: path, reason: String(cString: strerror(ENOTDIR)))
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent, flag: flag) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw OutputPathError(flag: flag, path: path, reason: errnoText())
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

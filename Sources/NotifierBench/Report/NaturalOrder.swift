/// Orders labels the way a reader expects: runs of digits compare as numbers,
/// so `size=1000` < `size=100000` and `threads=2` < `threads=16`.
enum NaturalOrder {
    /// Whether `lhs` sorts before `rhs`.
    static func less(_ lhs: String, _ rhs: String) -> Bool {
        var left = chunks(lhs)[...]
        var right = chunks(rhs)[...]
        while let a = left.popFirst(), let b = right.popFirst() {
            if a == b { continue }
            switch (a, b) {
            case (.number(let x), .number(let y)):
                // Compare digit strings without overflow: shorter (sans leading zeros) is smaller.
                let xs = x.drop { $0 == "0" }, ys = y.drop { $0 == "0" }
                if xs.count != ys.count { return xs.count < ys.count }
                if xs != ys { return xs < ys }
                return x.count < y.count
            case (.number, .text): return true
            case (.text, .number): return false
            case (.text(let x), .text(let y)): return x < y
            }
        }
        return left.isEmpty && !right.isEmpty
    }

    private enum Chunk: Equatable {
        case text(String)
        case number(String)
    }

    private static func chunks(_ string: String) -> [Chunk] {
        var result: [Chunk] = []
        var current = ""
        var inDigits = false
        for character in string {
            let digit = character.isASCII && character.isNumber
            if digit != inDigits, !current.isEmpty {
                result.append(inDigits ? .number(current) : .text(current))
                current = ""
            }
            inDigits = digit
            current.append(character)
        }
        if !current.isEmpty { result.append(inDigits ? .number(current) : .text(current)) }
        return result
    }
}

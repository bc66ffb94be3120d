/// libFuzzer target for the PostgreSQL message reader (`make fuzz`): any bytes, cut into chunks
/// anywhere, must decode to the same messages (or the same error) as when they arrive at once,
/// and never crash or read out of bounds (AddressSanitizer). Built with
/// `swiftc -sanitize=fuzzer,address` over `Drivers/PostgresWire/PostgresMessages.swift` alone.

/// Every message of `chunks`, in order, then the error that stopped the reader, if any.
private func decode(_ chunks: [ArraySlice<UInt8>]) -> ([PostgresBackendMessage], PostgresWireError?) {
    var reader = PostgresMessageReader()
    var messages: [PostgresBackendMessage] = []
    for chunk in chunks {
        reader.append(chunk)
        do {
            while let message = try reader.next() { messages.append(message) }
        } catch {
            return (messages, error)
        }
    }
    return (messages, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let whole = decode([bytes[...]])
    // The same bytes cut where the first byte says, and one byte at a time.
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let halves = decode([bytes[..<cut], bytes[cut...]])
    let drip = decode(bytes.indices.map { bytes[$0...$0] })
    for other in [halves, drip] where other.0 != whole.0 || other.1 != whole.1 {
        fatalError("chunking changed what the reader decoded")
    }
    return 0
}

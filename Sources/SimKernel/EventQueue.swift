/// One pending event: a time, a sequence number (insertion order, breaks ties), a handler index
/// and one argument word. 24 bytes, like the C reference's entries, so the heap stays cache-dense.
@usableFromInline
struct PendingEvent {
    /// Virtual time in nanoseconds.
    @usableFromInline var time: Int64
    /// `sequence << handlerBits | handler`: sequence numbers are unique, so comparing this word
    /// orders by sequence, and the handler rides along for free.
    @usableFromInline var order: UInt64
    @usableFromInline var argument: UInt64

    @usableFromInline static let handlerBits: UInt64 = 20
    @usableFromInline static let handlerMask: UInt64 = (1 << handlerBits) - 1

    @inlinable init(time: Int64, sequence: UInt64, handler: Int, argument: UInt64) {
        self.time = time
        self.order = sequence << PendingEvent.handlerBits | UInt64(handler)
        self.argument = argument
    }

    @inlinable var handler: Int { Int(truncatingIfNeeded: order & PendingEvent.handlerMask) }
    @inlinable var sequence: UInt64 { order >> PendingEvent.handlerBits }

    @inlinable static func precedes(_ a: PendingEvent, _ b: PendingEvent) -> Bool {
        a.time < b.time || (a.time == b.time && a.order < b.order)
    }
}

/// A binary min-heap of pending events ordered by (time, sequence), on manually managed storage:
/// the kernel's hot path. Push and pop are O(log n); `peek` is O(1).
@usableFromInline
struct EventQueue {
    @usableFromInline var storage: UnsafeMutablePointer<PendingEvent>
    @usableFromInline var capacity: Int
    @usableFromInline var count: Int = 0

    init(initialCapacity: Int = 1024) {
        capacity = Swift.max(16, initialCapacity)
        storage = .allocate(capacity: capacity)
    }

    /// The storage is freed by the owning `Simulation` (a struct has no deinit).
    func deallocate() { storage.deallocate() }

    @inlinable var isEmpty: Bool { count == 0 }


    @usableFromInline mutating func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<PendingEvent>.allocate(capacity: newCapacity)
        newStorage.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    @inlinable mutating func push(_ event: PendingEvent) {
        if count == capacity { grow() }
        var i = count
        count &+= 1
        let base = storage
        while i > 0 {
            let parent = (i &- 1) >> 1
            if !PendingEvent.precedes(event, base[parent]) { break }
            base[i] = base[parent]
            i = parent
        }
        base[i] = event
    }

    /// Removes and returns the earliest event. The caller checks `isEmpty` first.
    @inlinable mutating func pop() -> PendingEvent {
        let base = storage
        let top = base[0]
        count &-= 1
        let n = count
        if n == 0 { return top }
        let last = base[n]
        var i = 0
        while true {
            let left = i &* 2 &+ 1
            if left >= n { break }
            var child = left
            let right = left &+ 1
            if right < n && PendingEvent.precedes(base[right], base[left]) { child = right }
            if !PendingEvent.precedes(base[child], last) { break }
            base[i] = base[child]
            i = child
        }
        base[i] = last
        return top
    }

    /// Checks the heap property; used by tests and debug assertions.
    func checkInvariants() -> Bool {
        for i in 1 ..< Swift.max(1, count) where PendingEvent.precedes(storage[i], storage[(i - 1) >> 1]) {
            return false
        }
        return true
    }
}

/// A FIFO ring buffer, used for ready jobs and events due at the current instant.
@usableFromInline
struct RingQueue<Element> {
    @usableFromInline var buffer: [Element?]
    @usableFromInline var head = 0
    @usableFromInline var count = 0

    init(capacity: Int = 256) { buffer = Array(repeating: nil, count: Swift.max(4, capacity)) }

    @inlinable var isEmpty: Bool { count == 0 }

    @inlinable mutating func append(_ element: Element) {
        if count == buffer.count { grow() }
        var index = head + count
        if index >= buffer.count { index -= buffer.count }
        buffer[index] = element
        count += 1
    }

    @inlinable mutating func popFirst() -> Element? {
        if count == 0 { return nil }
        let element = buffer[head]
        buffer[head] = nil
        head += 1
        if head == buffer.count { head = 0 }
        count -= 1
        return element
    }

    @usableFromInline mutating func grow() {
        var newBuffer = [Element?](repeating: nil, count: buffer.count * 2)
        for i in 0 ..< count { newBuffer[i] = buffer[(head + i) % buffer.count] }
        buffer = newBuffer
        head = 0
    }
}

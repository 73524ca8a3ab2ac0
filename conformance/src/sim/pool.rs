//! Packet buffers in flight, recycled through a free list so that a steady
//! flow of packets allocates nothing once the pool has grown to the largest
//! number of packets simultaneously in flight.

/// A slab of byte buffers addressed by slot number.
pub(crate) struct PacketPool {
    buffers: Vec<Vec<u8>>,
    free: Vec<u32>,
}

impl PacketPool {
    pub fn new() -> PacketPool {
        PacketPool {
            buffers: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Copies `data` into a free buffer (reusing its capacity) and returns
    /// the buffer's slot.
    pub fn alloc(&mut self, data: &[u8]) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                let buffer = &mut self.buffers[slot as usize];
                buffer.clear();
                buffer.extend_from_slice(data);
                slot
            }
            None => {
                let slot = u32::try_from(self.buffers.len())
                    .unwrap_or_else(|_| panic!("more than 2^32 packets in flight"));
                self.buffers.push(data.to_vec());
                slot
            }
        }
    }

    pub fn get(&self, slot: u32) -> &[u8] {
        &self.buffers[slot as usize]
    }

    pub fn get_mut(&mut self, slot: u32) -> &mut [u8] {
        &mut self.buffers[slot as usize]
    }

    /// Returns a slot to the free list. The buffer keeps its capacity.
    pub fn release(&mut self, slot: u32) {
        self.free.push(slot);
    }

    /// Buffers currently holding a packet.
    pub fn in_use(&self) -> usize {
        self.buffers.len() - self.free.len()
    }

    /// Buffers ever allocated (the pool's high-water mark).
    pub fn capacity(&self) -> usize {
        self.buffers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_buffers_are_reused_without_growing() {
        let mut pool = PacketPool::new();
        let a = pool.alloc(b"hello");
        let b = pool.alloc(b"world!");
        assert_eq!(pool.get(a), b"hello");
        assert_eq!(pool.get(b), b"world!");
        pool.release(a);
        assert_eq!(pool.in_use(), 1);
        let c = pool.alloc(b"hi");
        assert_eq!(c, a);
        assert_eq!(pool.get(c), b"hi");
        pool.get_mut(c)[0] = b'H';
        assert_eq!(pool.get(c), b"Hi");
        pool.release(c);
        for _ in 0..1000 {
            let s = pool.alloc(&[0u8; 1500]);
            pool.release(s);
        }
        assert_eq!(pool.capacity(), 2);
    }
}

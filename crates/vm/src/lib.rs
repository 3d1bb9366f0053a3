//! QEMU virtual machines: accelerator probing, initramfs generation,
//! booting a kernel with a reproducer and capturing its console.
#![deny(missing_docs)]

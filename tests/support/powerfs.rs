//! A FUSE filesystem that forgets what was not fsynced: the disk of `tests/power_cut.rs`.
//!
//! Every operation passes through to a **backing** folder (what the running process sees: the
//! page cache). A second folder, the **durable** image, is what a disk would hold after a power
//! cut. It changes only when:
//! - a file is `fsync`ed or `fdatasync`ed: the pages written to it since its last sync are
//!   copied from the backing file, and the durable file takes the backing file's size;
//! - a directory changes (create, mkdir, unlink, rmdir, rename): taken as durable at once, as a
//!   journaling filesystem commits them (and as sled and issuebox fsync the directory anyway).
//!
//! Writes since a file's last sync are remembered as dirty 4 KiB pages. A [`PowerFs::cut`]
//! freezes the disk: from then on no `fsync` is answered (a process waiting on one can never be
//! told its data is safe), the dirty pages are captured as they are at that instant, and
//! [`Cut::apply`] makes the durable image what the disk holds after the cut, in one of three
//! [`Mode`]s. The caller then SIGKILLs the process, unmounts, and uses the durable image as the
//! store.

use fuser::{
    FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Page size of the simulated page cache: the unit in which unsynced writes reach the disk.
pub const PAGE: u64 = 4096;

const TTL: Duration = Duration::from_secs(1);

/// What the disk holds after a power cut, besides everything synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Unsynced writes are all dropped: each file is as its last `fsync` left it.
    Drop,
    /// ext4 `data=ordered`: a random subset of the unsynced pages inside a file's durable size
    /// landed (overwrites), and the file grew by a prefix of its unsynced appends (the size
    /// committed, at a page boundary, with every appended page below it: data is written
    /// before the size that exposes it).
    Ordered,
    /// ext4 `data=writeback`: the file's new size was committed but only a random subset of
    /// its unsynced pages landed, so appended pieces can sit past holes of zeros (overwrites
    /// land at random too).
    Writeback,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Drop, Mode::Ordered, Mode::Writeback];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Drop => "drop",
            Mode::Ordered => "ordered",
            Mode::Writeback => "writeback",
        }
    }
}

/// A small deterministic generator (xorshift64*), so that a failing cut can be replayed from
/// its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// Running totals, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub pages_synced: u64,
}

struct State {
    backing: PathBuf,
    durable: PathBuf,
    /// inode → path relative to the roots ("" is the root, inode 1).
    paths: HashMap<u64, PathBuf>,
    inodes: HashMap<PathBuf, u64>,
    next_ino: u64,
    handles: HashMap<u64, (u64, File)>,
    next_fh: u64,
    /// inode → pages written since its last sync (an entry with no pages: only its size
    /// changed).
    dirty: HashMap<u64, BTreeSet<u64>>,
    /// Set by a cut: fsyncs are held, never answered while the process lives.
    frozen: bool,
    /// Set once the process was sent SIGKILL: held fsyncs fail (a killed thread waiting on a
    /// FUSE request already read by the daemon waits for its answer, uninterruptibly).
    killed: bool,
    held: Vec<ReplyEmpty>,
    /// Writes left before an armed cut ([`Handle::arm`]) freezes the disk by itself.
    armed: Option<u64>,
    /// A file whose syncs are held, never answered nor made durable ([`Handle::stall_syncs`]).
    stalled: Option<PathBuf>,
    /// The cut an armed trigger made.
    tripped: Option<Cut>,
    stats: Stats,
}

/// The filesystem; clone the handle ([`PowerFs::handle`]) before mounting to cut it later.
pub struct PowerFs {
    st: Arc<Mutex<State>>,
}

/// A handle on a mounted [`PowerFs`] for the test: cut it, read its totals.
#[derive(Clone)]
pub struct Handle {
    st: Arc<Mutex<State>>,
}

/// The unsynced state of one file at the instant of a cut.
#[derive(Debug)]
struct FrozenFile {
    path: PathBuf,
    /// The size the process saw.
    size: u64,
    /// Each dirty page's bytes as the process left them (shorter at the end of the file).
    pages: BTreeMap<u64, Vec<u8>>,
}

/// A power cut: what the disk held (the durable image) and what was still in the page cache.
pub struct Cut {
    durable: PathBuf,
    stats: Stats,
    files: Vec<FrozenFile>,
}

/// What [`Cut::apply`] did, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Applied {
    pub files: usize,
    pub dirty_pages: usize,
    pub landed_pages: usize,
    /// Appended pages beyond the new size (ordered) or left as holes inside it (writeback).
    pub lost_pages: usize,
    /// The filesystem's totals while it was mounted.
    pub stats: Stats,
}

impl PowerFs {
    /// A filesystem over `backing` whose durable image is `durable`; both must hold the same
    /// tree when it is mounted.
    pub fn new(backing: &Path, durable: &Path) -> PowerFs {
        let mut paths = HashMap::new();
        let mut inodes = HashMap::new();
        paths.insert(1, PathBuf::new());
        inodes.insert(PathBuf::new(), 1);
        PowerFs {
            st: Arc::new(Mutex::new(State {
                backing: backing.to_path_buf(),
                durable: durable.to_path_buf(),
                paths,
                inodes,
                next_ino: 2,
                handles: HashMap::new(),
                next_fh: 1,
                dirty: HashMap::new(),
                frozen: false,
                killed: false,
                held: Vec::new(),
                armed: None,
                stalled: None,
                tripped: None,
                stats: Stats::default(),
            })),
        }
    }

    pub fn handle(&self) -> Handle {
        Handle {
            st: self.st.clone(),
        }
    }

    /// Mounts at `mountpoint` in a background thread; dropping the session unmounts.
    pub fn mount(self, mountpoint: &Path) -> std::io::Result<fuser::BackgroundSession> {
        fuser::spawn_mount2(
            self,
            mountpoint,
            &[
                MountOption::FSName("issuebox-powercut".into()),
                MountOption::RW,
            ],
        )
    }
}

impl Handle {
    /// After the cut, once the process was sent SIGKILL (its threads can no longer run user
    /// code, so no answer can reach it): fails every held fsync so that its threads can die.
    pub fn killed(&self) {
        let mut st = self.st.lock().unwrap();
        st.killed = true;
        for r in st.held.drain(..) {
            r.error(libc::EIO);
        }
    }

    /// Freezes the disk at this instant (see the module doc); the caller SIGKILLs the process
    /// and unmounts next, then [`Cut::apply`]s the answer.
    pub fn cut(&self) -> Cut {
        let mut st = self.st.lock().unwrap();
        if let Some(c) = st.tripped.take() {
            return c;
        }
        st.freeze()
    }

    /// Arms the cut to happen by itself right after the `writes`-th write from now, so that it
    /// falls between a write and the fsync that would make it durable.
    pub fn arm(&self, writes: u64) {
        self.st.lock().unwrap().armed = Some(writes.max(1));
    }

    /// From now on, every `fsync` of `rel` (relative to the filesystem's root) is held: never
    /// answered, its data never made durable, as if that one file's disk had stopped while
    /// the others go on. A cut ([`Handle::cut`]) then treats its writes as unsynced.
    pub fn stall_syncs(&self, rel: &Path) {
        self.st.lock().unwrap().stalled = Some(rel.to_path_buf());
    }

    /// Whether an armed cut has happened.
    pub fn tripped(&self) -> bool {
        self.st.lock().unwrap().tripped.is_some()
    }
}

impl State {
    fn freeze(&mut self) -> Cut {
        let st = self;
        st.frozen = true;
        st.armed = None;
        let mut files = Vec::new();
        let dirty: Vec<(u64, BTreeSet<u64>)> = st.dirty.drain().collect();
        for (ino, pages) in dirty {
            let Some(rel) = st.paths.get(&ino).cloned() else {
                continue;
            };
            let Ok(f) = File::open(st.backing.join(&rel)) else {
                continue;
            };
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let mut captured = BTreeMap::new();
            for p in pages {
                let start = p * PAGE;
                if start >= size {
                    continue;
                }
                let mut buf = vec![0u8; (size - start).min(PAGE) as usize];
                f.read_exact_at(&mut buf, start).expect("read a dirty page");
                captured.insert(p, buf);
            }
            files.push(FrozenFile {
                path: rel,
                size,
                pages: captured,
            });
        }
        Cut {
            stats: st.stats,
            durable: st.durable.clone(),
            files,
        }
    }
}

impl Cut {
    /// Writes into the durable image what reached the disk besides the synced data, as `mode`
    /// says, choosing at random with `rng`.
    pub fn apply(self, mode: Mode, rng: &mut Rng) -> Applied {
        let mut a = Applied {
            stats: self.stats,
            ..Applied::default()
        };
        for f in self.files {
            let path = self.durable.join(&f.path);
            let Ok(file) = OpenOptions::new().write(true).open(&path) else {
                continue; // removed since (directory operations are durable)
            };
            a.files += 1;
            a.dirty_pages += f.pages.len();
            let old = file.metadata().unwrap().len();
            let write = |p: u64, bytes: &[u8], upto: u64| {
                let start = p * PAGE;
                let n = (upto.saturating_sub(start) as usize).min(bytes.len());
                file.write_all_at(&bytes[..n], start).unwrap();
            };
            match mode {
                Mode::Drop => {}
                Mode::Ordered => {
                    // The committed size: the old one, the new one, or a page boundary between.
                    let new = if f.size <= old {
                        if rng.coin() {
                            f.size
                        } else {
                            old
                        }
                    } else {
                        let first = old.div_ceil(PAGE);
                        let last = f.size.div_ceil(PAGE);
                        let k = first + rng.below(last - first + 1);
                        (k * PAGE).clamp(old, f.size)
                    };
                    file.set_len(new).unwrap();
                    for (p, bytes) in &f.pages {
                        let end = p * PAGE + bytes.len() as u64;
                        let overwrite = end <= old;
                        if overwrite {
                            if rng.coin() {
                                write(*p, bytes, new);
                                a.landed_pages += 1;
                            }
                        } else if p * PAGE < new {
                            // An appended page below the committed size: written before it.
                            write(*p, bytes, new);
                            a.landed_pages += 1;
                        } else {
                            a.lost_pages += 1;
                        }
                    }
                }
                Mode::Writeback => {
                    file.set_len(f.size).unwrap();
                    for (p, bytes) in &f.pages {
                        if rng.coin() {
                            write(*p, bytes, f.size);
                            a.landed_pages += 1;
                        } else if p * PAGE + bytes.len() as u64 > old {
                            a.lost_pages += 1;
                        }
                    }
                }
            }
        }
        a
    }
}

fn kind_of(m: &std::fs::Metadata) -> FileType {
    let t = m.file_type();
    if t.is_dir() {
        FileType::Directory
    } else if t.is_symlink() {
        FileType::Symlink
    } else {
        FileType::RegularFile
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH
    }
}

fn attr_of(ino: u64, m: &std::fs::Metadata) -> FileAttr {
    FileAttr {
        ino,
        size: m.len(),
        blocks: m.blocks(),
        atime: time(m.atime(), m.atime_nsec()),
        mtime: time(m.mtime(), m.mtime_nsec()),
        ctime: time(m.ctime(), m.ctime_nsec()),
        crtime: UNIX_EPOCH,
        kind: kind_of(m),
        perm: (m.permissions().mode() & 0o7777) as u16,
        nlink: m.nlink() as u32,
        uid: m.uid(),
        gid: m.gid(),
        rdev: m.rdev() as u32,
        blksize: 4096,
        flags: 0,
    }
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl State {
    fn rel(&self, ino: u64) -> Option<PathBuf> {
        self.paths.get(&ino).cloned()
    }

    fn child(&self, parent: u64, name: &OsStr) -> Option<PathBuf> {
        self.rel(parent).map(|p| p.join(name))
    }

    fn ino_for(&mut self, rel: &Path) -> u64 {
        if let Some(i) = self.inodes.get(rel) {
            return *i;
        }
        let i = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(rel.to_path_buf(), i);
        self.paths.insert(i, rel.to_path_buf());
        i
    }

    fn forget_path(&mut self, rel: &Path) {
        if let Some(i) = self.inodes.remove(rel) {
            self.paths.remove(&i);
            self.dirty.remove(&i);
        }
    }

    fn attr(&mut self, rel: &Path) -> std::io::Result<FileAttr> {
        let m = std::fs::symlink_metadata(self.backing.join(rel))?;
        let ino = self.ino_for(rel);
        Ok(attr_of(ino, &m))
    }

    fn mark(&mut self, ino: u64, offset: u64, len: u64) {
        let pages = self.dirty.entry(ino).or_default();
        if len > 0 {
            for p in offset / PAGE..=(offset + len - 1) / PAGE {
                pages.insert(p);
            }
        }
    }

    /// fsync: the file's dirty pages and size reach the durable image.
    fn sync(&mut self, ino: u64) -> std::io::Result<()> {
        let Some(rel) = self.rel(ino) else {
            return Ok(());
        };
        let Some(pages) = self.dirty.remove(&ino) else {
            return Ok(());
        };
        let src = File::open(self.backing.join(&rel))?;
        let size = src.metadata()?.len();
        let dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.durable.join(&rel))?;
        dst.set_len(size)?;
        let mut buf = vec![0u8; PAGE as usize];
        for p in &pages {
            let start = p * PAGE;
            if start >= size {
                continue;
            }
            let n = (size - start).min(PAGE) as usize;
            src.read_exact_at(&mut buf[..n], start)?;
            dst.write_all_at(&buf[..n], start)?;
        }
        self.stats.fsyncs += 1;
        self.stats.pages_synced += pages.len() as u64;
        Ok(())
    }
}

impl Filesystem for PowerFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        match st.attr(&rel) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.rel(ino) else {
            return reply.error(libc::ENOENT);
        };
        match st.attr(&rel) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.rel(ino) else {
            return reply.error(libc::ENOENT);
        };
        let path = st.backing.join(&rel);
        let r = (|| -> std::io::Result<()> {
            if let Some(size) = size {
                OpenOptions::new().write(true).open(&path)?.set_len(size)?;
            }
            if let Some(mode) = mode {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))?;
            }
            Ok(())
        })();
        if size.is_some() {
            // A new size is data like any write: durable at the next fsync.
            st.mark(ino, 0, 0);
        }
        match r.and_then(|()| st.attr(&rel)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        let r = std::fs::create_dir(st.backing.join(&rel)).and_then(|()| {
            let perm = std::fs::Permissions::from_mode(mode & !umask & 0o7777);
            std::fs::set_permissions(st.backing.join(&rel), perm)?;
            std::fs::create_dir_all(st.durable.join(&rel))
        });
        match r.and_then(|()| st.attr(&rel)) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        match std::fs::remove_file(st.backing.join(&rel)) {
            Ok(()) => {
                let _ = std::fs::remove_file(st.durable.join(&rel));
                st.forget_path(&rel);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        match std::fs::remove_dir(st.backing.join(&rel)) {
            Ok(()) => {
                let _ = std::fs::remove_dir(st.durable.join(&rel));
                st.forget_path(&rel);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st.lock().unwrap();
        let (Some(from), Some(to)) = (st.child(parent, name), st.child(newparent, newname)) else {
            return reply.error(libc::ENOENT);
        };
        if let Err(e) = std::fs::rename(st.backing.join(&from), st.backing.join(&to)) {
            return reply.error(errno(&e));
        }
        let _ = std::fs::rename(st.durable.join(&from), st.durable.join(&to));
        st.forget_path(&to);
        // Move the inode of `from` and of everything under it.
        let moved: Vec<(PathBuf, u64)> = st
            .inodes
            .iter()
            .filter(|(p, _)| p.starts_with(&from))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (p, i) in moved {
            let rest = p.strip_prefix(&from).unwrap();
            // (`join` of an empty path would add a trailing `/`.)
            let np = if rest.as_os_str().is_empty() {
                to.clone()
            } else {
                to.join(rest)
            };
            st.inodes.remove(&p);
            st.inodes.insert(np.clone(), i);
            st.paths.insert(i, np);
        }
        reply.ok()
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.rel(ino) else {
            return reply.error(libc::ENOENT);
        };
        let acc = flags & libc::O_ACCMODE;
        let r = OpenOptions::new()
            .read(true)
            .write(acc != libc::O_RDONLY)
            .truncate(flags & libc::O_TRUNC != 0 && acc != libc::O_RDONLY)
            .open(st.backing.join(&rel));
        match r {
            Ok(f) => {
                if flags & libc::O_TRUNC != 0 {
                    st.mark(ino, 0, 0);
                }
                let fh = st.next_fh;
                st.next_fh += 1;
                st.handles.insert(fh, (ino, f));
                reply.opened(fh, 0)
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        let r = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(flags & libc::O_TRUNC != 0)
            .custom_flags(flags & libc::O_EXCL)
            .mode(mode & !umask & 0o7777)
            .open(st.backing.join(&rel));
        match r {
            Ok(f) => {
                // Creating a name is a directory operation: durable at once, empty.
                let _ = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(st.durable.join(&rel));
                let ino = st.ino_for(&rel);
                st.mark(ino, 0, 0);
                let fh = st.next_fh;
                st.next_fh += 1;
                st.handles.insert(fh, (ino, f));
                match st.attr(&rel) {
                    Ok(a) => reply.created(&TTL, &a, 0, fh, 0),
                    Err(e) => reply.error(errno(&e)),
                }
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let st = self.st.lock().unwrap();
        let Some((_, f)) = st.handles.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        let mut buf = vec![0u8; size as usize];
        let mut got = 0;
        while got < buf.len() {
            match f.read_at(&mut buf[got..], offset as u64 + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return reply.error(errno(&e)),
            }
        }
        reply.data(&buf[..got])
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some((ino, f)) = st.handles.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        let ino = *ino;
        match f.write_all_at(data, offset as u64) {
            Ok(()) => {
                st.mark(ino, offset as u64, data.len() as u64);
                st.stats.writes += 1;
                st.stats.bytes_written += data.len() as u64;
                if let Some(n) = st.armed {
                    if n <= 1 {
                        let c = st.freeze();
                        st.tripped = Some(c);
                    } else {
                        st.armed = Some(n - 1);
                    }
                }
                reply.written(data.len() as u32)
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _owner: u64, reply: ReplyEmpty) {
        reply.ok()
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.st.lock().unwrap().handles.remove(&fh);
        reply.ok()
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st.lock().unwrap();
        if st.killed {
            return reply.error(libc::EIO);
        }
        if st.frozen || (st.stalled.is_some() && st.stalled.as_ref() == st.paths.get(&ino)) {
            // After the cut nothing more reaches the disk, and the process must never hear
            // that it did.
            st.held.push(reply);
            return;
        }
        match st.sync(ino) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn fsyncdir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st.lock().unwrap();
        if st.killed {
            return reply.error(libc::EIO);
        }
        if st.frozen {
            st.held.push(reply);
            return;
        }
        // Directory operations are durable already.
        reply.ok()
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some(rel) = st.rel(ino) else {
            return reply.error(libc::ENOENT);
        };
        let mut entries = vec![
            (ino, FileType::Directory, ".".into()),
            (1, FileType::Directory, "..".into()),
        ];
        let read = match std::fs::read_dir(st.backing.join(&rel)) {
            Ok(r) => r,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut names: Vec<(std::ffi::OsString, FileType)> = read
            .flatten()
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((e.file_name(), kind_of(&m)))
            })
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in names {
            let child = rel.join(&name);
            let i = st.ino_for(&child);
            entries.push((i, kind, name));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, (i + 1) as i64, kind, name) {
                break;
            }
        }
        reply.ok()
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        let st = self.st.lock().unwrap();
        let path = std::ffi::CString::new(st.backing.as_os_str().as_encoded_bytes()).unwrap();
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed out-parameter of the right type.
        if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
            return reply.error(errno(&std::io::Error::last_os_error()));
        }
        reply.statfs(
            s.f_blocks,
            s.f_bfree,
            s.f_bavail,
            s.f_files,
            s.f_ffree,
            s.f_bsize as u32,
            s.f_namemax as u32,
            s.f_frsize as u32,
        )
    }

    fn access(&mut self, _req: &Request<'_>, _ino: u64, _mask: i32, reply: ReplyEmpty) {
        reply.ok()
    }

    fn fallocate(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        length: i64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st.lock().unwrap();
        let Some((ino, f)) = st.handles.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        let ino = *ino;
        // SAFETY: a file descriptor this filesystem holds open.
        let r = unsafe {
            libc::fallocate(
                std::os::fd::AsRawFd::as_raw_fd(f),
                mode,
                offset as libc::off_t,
                length as libc::off_t,
            )
        };
        if r != 0 {
            return reply.error(errno(&std::io::Error::last_os_error()));
        }
        st.mark(ino, offset as u64, length as u64);
        reply.ok()
    }
}

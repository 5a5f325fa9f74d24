#include "crypto/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/status_macros.hpp"

namespace credvault::crypto {
namespace {

constexpr off_t kMaxKeyFileSize = 64 * 1024;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Status CheckKeyFileOwner(const std::string& path, uid_t owner, std::string_view what) {
  const uid_t self = geteuid();
  if (owner == self || owner == 0) return Status::Ok();
  return PermissionDeniedError(std::string(what) + " file " + path + " is owned by uid " + std::to_string(owner) +
                               ", not by this user (uid " + std::to_string(self) +
                               ") or root: another user could have written it; run: chown " + std::to_string(self) +
                               " " + path);
}

StatusOr<SecretBytes> ReadKeyFile(const std::string& path, std::string_view what) {
  const std::string named = std::string(what) + " file " + path;
  // O_NONBLOCK: a FIFO (or a device) put in a key file's place must not
  // block the open; what was opened is checked with fstat below. Symlinks
  // are followed (a Kubernetes secret volume is made of them): the checks
  // are on the file finally opened.
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFoundError(named + " does not exist");
    return PermissionDeniedError("cannot read " + named + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return PermissionDeniedError(named + " is not a regular file");
  }
  CV_RETURN_IF_ERROR(CheckKeyFileOwner(path, st.st_uid, what));
  if ((st.st_mode & 077) != 0) {
    return PermissionDeniedError(named + " is accessible by group or other (mode " +
                                 std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                                 std::to_string(st.st_mode & 7) + "); run: chmod 600 " + path);
  }
  if (st.st_size > kMaxKeyFileSize) return InvalidArgumentError(named + " is too large to be a " + std::string(what));
  SecretBytes content(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = read(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return PermissionDeniedError("cannot read " + named);
    done += static_cast<std::size_t>(n);
  }
  return content;
}

Status WriteNewKeyFile(const std::string& path, const SecretBytes& key) {
  FileDescriptor fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) return AlreadyExistsError(path + " already exists; a key file is never overwritten");
    return PermissionDeniedError("cannot create " + path + ": " + std::strerror(errno));
  }
  if (fchmod(fd.get(), 0600) != 0) return PermissionDeniedError("cannot set mode 0600 on " + path);
  std::size_t done = 0;
  while (done < key.size()) {
    ssize_t n = write(fd.get(), key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return InternalError("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  if (write(fd.get(), "\n", 1) != 1 || fsync(fd.get()) != 0) {
    return InternalError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace credvault::crypto

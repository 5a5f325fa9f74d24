// A SoftHSM2 token for the wrapped: key tests: one private token directory
// and SOFTHSM2_CONF per test binary run (initialised on first use, removed
// at exit), holding two AES-256 key-encryption keys, kek-a and kek-b.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace credvault::testing {

struct SoftHsm {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token = "credvault-test";
  std::string pin = "4921-test-pin";
  std::string dir;  // the token directory's parent (holds softhsm2.conf)

  // "pkcs11:token=credvault-test;object=<kek>"
  std::string Uri(const std::string& kek) const { return "pkcs11:token=" + token + ";object=" + kek; }
  // CREDVAULT_PKCS11_MODULE and CREDVAULT_PKCS11_PIN for RunCli.
  std::map<std::string, std::optional<std::string>> Env() const;
};

// The token of this run; SOFTHSM2_CONF is set in this process's environment
// (so the CLI processes started by tests inherit it).
const SoftHsm& SharedSoftHsm();

}  // namespace credvault::testing

#include "support/softhsm.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "support/test_support.hpp"

namespace credvault::testing {
namespace {

// Runs a shell command line of fixed test setup (no secret of credvault's).
void Run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

}  // namespace

std::map<std::string, std::optional<std::string>> SoftHsm::Env() const {
  return {{"CREDVAULT_PKCS11_MODULE", module}, {"CREDVAULT_PKCS11_PIN", pin}};
}

const SoftHsm& SharedSoftHsm() {
  static std::unique_ptr<TempDir> dir;
  static SoftHsm hsm;
  if (dir) return hsm;
  dir = std::make_unique<TempDir>();
  hsm.dir = dir->path();
  Run("mkdir -p " + hsm.dir + "/tokens");
  std::ofstream(hsm.dir + "/softhsm2.conf") << "directories.tokendir = " << hsm.dir
                                            << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n";
  setenv("SOFTHSM2_CONF", (hsm.dir + "/softhsm2.conf").c_str(), 1);
  Run("softhsm2-util --init-token --free --label " + hsm.token + " --pin " + hsm.pin + " --so-pin 5678-test-so");
  for (const char* kek : {"kek-a", "kek-b"}) {
    Run("pkcs11-tool --module " + hsm.module + " --token-label " + hsm.token + " --login --pin " + hsm.pin +
        " --keygen --key-type AES:32 --usage-wrap --label " + kek);
  }
  return hsm;
}

}  // namespace credvault::testing

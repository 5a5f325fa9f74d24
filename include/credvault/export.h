/* CREDVAULT_EXPORT marks the library's public API. libcredvault.so is built
 * with hidden visibility and a linker version script (cmake/credvault.map),
 * so it exports exactly the names marked here: the declarations in
 * include/credvault/. Everything in src/ stays internal and may change
 * without an ABI bump. */
#ifndef CREDVAULT_EXPORT_H_
#define CREDVAULT_EXPORT_H_

#ifdef __cplusplus
#define CREDVAULT_EXPORT [[gnu::visibility("default")]]
#else
#define CREDVAULT_EXPORT __attribute__((visibility("default")))
#endif

#endif /* CREDVAULT_EXPORT_H_ */

/* A constructor that dlopens and a destructor that dlcloses the same
 * object, both through libhalite.so on the loader running them. */
#include <halite.h>

static void *dep;

__attribute__((constructor)) static void init(void) { dep = dlopen("libctor_dep.so", RTLD_NOW); }
__attribute__((destructor)) static void fini(void) { if (dep) dlclose(dep); }

long have_dep(void) { return dep != 0; }

/* uniq: dlopens libuniqx.so then libuniqy.so (RTLD_LOCAL; found through
   this program's RUNPATH) and checks that both see the same u. */
#include <dlfcn.h>
int main(void) {
	void *x = dlopen("libuniqx.so", RTLD_NOW | RTLD_LOCAL);
	void *y = dlopen("libuniqy.so", RTLD_NOW | RTLD_LOCAL);
	if (!x || !y)
		return 2;
	int *(*wx)(void) = (int *(*)(void))dlsym(x, "where");
	int *(*wy)(void) = (int *(*)(void))dlsym(y, "where");
	return wx && wy && wx() == wy() ? 0 : 1;
}

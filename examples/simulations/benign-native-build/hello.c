#include <stdio.h>

int main(void) {
  puts("hello from sim-benign-native-build");
  return 0;
}

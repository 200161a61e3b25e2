/* x07-fragment: requires=core,launch_run */
/*
 * main_launch: the entry point of x07-launch, the trusted launcher (docs/internals/sandbox.md).
 * Built from runtime start-up fragments only, statically linked: no program or package code, no
 * shared library that could interpose a symbol it calls.
 */
int main(int argc, char **argv) { return x7_launch_main(argc, argv); }

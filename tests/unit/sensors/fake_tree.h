/* Fake sysfs trees in a temp dir for the sensors tests. Paths are relative
 * to the tree's root; parents are created as needed. */
#ifndef IOD_TEST_FAKE_TREE_H
#define IOD_TEST_FAKE_TREE_H

/* mkdtemp under $TMPDIR (or /tmp); malloc'd path, or NULL. */
char *ft_new(void);
/* Write a file with content (creates parent directories). 0 or -1. */
int ft_write(const char *root, const char *rel, const char *content);
/* Create a directory (and parents). 0 or -1. */
int ft_mkdir(const char *root, const char *rel);
/* rm -rf root/rel (rel "" for the whole tree). */
void ft_remove(const char *root, const char *rel);
/* rename root/from to root/to. 0 or -1. */
int ft_rename(const char *root, const char *from, const char *to);

/* A suite's tree: ft_setup (a TestSuite's .init) makes a fresh one in
 * ft_root, ft_teardown (its .fini) removes it. */
extern char *ft_root;
void ft_setup(void);
void ft_teardown(void);

#endif

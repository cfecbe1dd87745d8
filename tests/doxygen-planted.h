/**
 * @file
 * Planted defects for the test doxygen-planted (docs/api/meson.build): the
 * check must report each of the five below, so that a header missing any
 * of these comments cannot pass it.  Never installed or compiled.
 */

/** Documented, with one member that is not. */
typedef struct planted_struct {
  /** Documented. */
  int documented;
  int undocumented_member;
} planted_struct;

/** Documented enum with one undocumented value. */
typedef enum planted_enum {
  /** Documented. */
  PLANTED_DOCUMENTED = 1,
  PLANTED_UNDOCUMENTED = 2,
} planted_enum;

int planted_undocumented_function(int x);

/** A parameter documented under a wrong name.
 *  @param y not a parameter of this function */
int planted_wrong_param(int x);

#define PLANTED_UNDOCUMENTED_MACRO 1

#ifndef SYNAPSENET_CSQLITE_SHIM_H
#define SYNAPSENET_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <stdio.h>

// Line-buffered standard output even to a pipe (Swift 6 cannot name C's `stdout` safely).
static inline void synapsenet_line_buffer_stdout(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}

// Swift cannot import SQLITE_TRANSIENT (a cast of -1 to a function pointer): bind through these.
static inline int synapsenet_bind_text(sqlite3_stmt *statement, int index, const char *text) {
    return sqlite3_bind_text(statement, index, text, -1, SQLITE_TRANSIENT);
}
static inline int synapsenet_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int count) {
    return sqlite3_bind_blob(statement, index, bytes, count, SQLITE_TRANSIENT);
}

// Flushes standard output and says whether any write to it failed (a full disk, a closed pipe).
static inline int synapsenet_stdout_failed(void) {
    return fflush(stdout) != 0 || ferror(stdout);
}

// The simulated VFS's file: SQLite's base struct, then a pointer to the Swift handle object.
typedef struct synapsenet_file {
    sqlite3_file base;
    void *owner;
} synapsenet_file;
#endif

/* journal.h - the chunks a store's writers finished, so a resumed run trusts only its own whole chunks */
#ifndef EM_JOURNAL_H
#define EM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Beside an array directory <array> (inside the store's group) the writer
 * keeps "<array>.chunks" (or "<array>.chunks.<part>" for part I of a split
 * run): one line "INDEX KEY BYTES\n" per chunk file it renamed into place,
 * appended after the rename.  A resumed run counts a chunk file as present
 * only when the journal has it with the file's size, so a chunk cut short
 * (a copy, a full disk on another writer) or a file that another program
 * put at a chunk's path is written again.  A line without its newline (a
 * crash in the middle of the append) is ignored: that chunk is rewritten.
 * Readers of Zarr ignore the file.
 */
struct em_journal;

/*
 * Load what every journal of the array says (all parts) and open this
 * run's journal for appending.  nchunks bounds the indexes; part < 0 is a
 * whole-store run.  fresh: start empty (the store is being made anew).
 */
struct em_journal *em_journal_open(const char *array_dir, uint64_t nchunks, int part, int fresh);
void em_journal_close(struct em_journal *j);

/* 1 when the journal has chunk index (linear, C order) with a file of this size, else 0. */
int em_journal_has(const struct em_journal *j, uint64_t index, uint64_t file_bytes);
/* How many chunks the journals name. */
uint64_t em_journal_count(const struct em_journal *j);
/* Record that chunk index (key, bytes) is whole under its final name.  Thread-safe. */
int em_journal_add(struct em_journal *j, uint64_t index, const char *key, uint64_t bytes);
/* Forget a chunk (found cut short or foreign): it is rewritten.  Thread-safe. */
void em_journal_forget(struct em_journal *j, uint64_t index);

#endif

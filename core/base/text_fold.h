/* Text folding for search: the same word in any case and with or without
 * Latin diacritics compares equal ("Crème" and "creme"). Shared by the
 * query parser and any code that indexes text, so both fold alike. */
#ifndef PARLEY_TEXT_FOLD_H
#define PARLEY_TEXT_FOLD_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[*i] (len bytes in all) and advances *i.
 * Returns 0, or -1 for invalid UTF-8 (overlong, surrogate, truncated,
 * beyond U+10FFFF; *i is then not moved). */
int text_utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp);
/* Writes cp as UTF-8 into out (room for 4 bytes); returns the length. */
size_t text_utf8_put(char *out, uint32_t cp);
/* ASCII lower case; Latin letters U+00C0..U+024F in lower case without
 * their diacritics (É -> e, Ø -> ø); other code points unchanged. */
uint32_t text_fold_cp(uint32_t cp);
/* 1 when cp belongs to a word: ASCII letters and digits, and code points
 * from U+00C0 up except general and CJK punctuation, spaces and the
 * Latin-1 signs (×, ÷). */
int text_is_word_cp(uint32_t cp);

#endif

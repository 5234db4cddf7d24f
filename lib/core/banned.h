/* banned.h - functions that invite overflows; use em_buf or snprintf instead */
#ifndef EM_BANNED_H
#define EM_BANNED_H

/*
 * Included last by every .c file of the project: a call to one of these
 * then fails to compile.  The names are replaced by an identifier that says
 * why, as git's banned.h does.
 */
#undef strcpy
#define strcpy(x, y) sorry_strcpy_is_banned_use_snprintf_or_em_buf
#undef strcat
#define strcat(x, y) sorry_strcat_is_banned_use_em_buf
#undef strncpy
#define strncpy(x, y, n) sorry_strncpy_is_banned_use_snprintf
#undef sprintf
#define sprintf(...) sorry_sprintf_is_banned_use_snprintf
#undef vsprintf
#define vsprintf(...) sorry_vsprintf_is_banned_use_vsnprintf
#undef strtok
#define strtok(x, y) sorry_strtok_is_banned_use_strtok_r_or_strsep
#undef gets
#define gets(x) sorry_gets_is_banned_use_fgets
#undef atoi
#define atoi(x) sorry_atoi_is_banned_use_em_parse

#endif

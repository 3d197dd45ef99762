/* banned.h: functions that are easy to misuse, made compile errors.
 * Every .c includes it last, after the system headers that declare them.
 * strcpy/strcat/sprintf overflow, strtok keeps hidden state, atoi hides
 * errors, localtime/gmtime return shared static storage. */
#ifndef CHIME_BANNED_H
#define CHIME_BANNED_H

#define BANNED(f) sorry_##f##_is_banned_in_chime

#undef strcpy
#define strcpy(...) BANNED(strcpy)
#undef strcat
#define strcat(...) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(...) BANNED(strtok)
#undef atoi
#define atoi(...) BANNED(atoi)
#undef atol
#define atol(...) BANNED(atol)
#undef localtime
#define localtime(...) BANNED(localtime)
#undef gmtime
#define gmtime(...) BANNED(gmtime)
#undef gets
#define gets(...) BANNED(gets)

#endif

/*
 * jsoncheck.c — a strict RFC 8259 grammar check, run before cJSON parses.
 *
 * Why: cJSON is lenient. It skips every byte <= 0x20 as whitespace (so
 * {"action":"feed",\x14 "id":"m"} and \x0b{...}\x0b parse), skips a UTF-8
 * BOM, hands numbers to strtod (so 00, 01, 1. and -.5 parse) and lets raw
 * control characters through inside strings. proto/README.md promises
 * `bad_json` for anything that is not JSON, so every decoder asks this
 * first. Accepted here is exactly RFC 8259's JSON-text, plus two limits:
 *
 *   - a \uD800-\uDFFF escape must be a high surrogate followed at once by a
 *     low one (a lone surrogate has no UTF-8 form; RFC 8259 section 8.2
 *     leaves its meaning unpredictable);
 *   - arrays and objects nest at most PJ_JSON_MAX_DEPTH deep.
 *
 * Pure, no allocation, recursion bounded by PJ_JSON_MAX_DEPTH.
 */
#include "pjson.h"

#include "proto.h"

struct cursor {
	const unsigned char *s;
	size_t n;
	size_t i;
};

static bool value(struct cursor *c, int depth);

/* RFC 8259: ws = *( %x20 / %x09 / %x0A / %x0D ). Nothing else. */
static void skip_ws(struct cursor *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
			       c->s[c->i] == '\r'))
		c->i++;
}

static bool at(const struct cursor *c, unsigned char ch)
{
	return c->i < c->n && c->s[c->i] == ch;
}

static bool is_digit(const struct cursor *c)
{
	return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

static bool literal(struct cursor *c, const char *word)
{
	for (; *word != '\0'; word++, c->i++) {
		if (!at(c, (unsigned char)*word))
			return false;
	}
	return true;
}

/* number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static bool number(struct cursor *c)
{
	if (at(c, '-'))
		c->i++;
	if (at(c, '0')) {
		c->i++;
	} else if (is_digit(c)) {
		while (is_digit(c))
			c->i++;
	} else {
		return false;
	}
	if (at(c, '.')) {
		c->i++;
		if (!is_digit(c))
			return false;
		while (is_digit(c))
			c->i++;
	}
	if (at(c, 'e') || at(c, 'E')) {
		c->i++;
		if (at(c, '+') || at(c, '-'))
			c->i++;
		if (!is_digit(c))
			return false;
		while (is_digit(c))
			c->i++;
	}
	return true;
}

/* Four hex digits after "\u"; -1 if they are not. */
static long hex4(struct cursor *c)
{
	long v = 0;

	if (c->n - c->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		unsigned char h = c->s[c->i++];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			v |= h - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* The escape after a backslash (c->i is past the backslash). */
static bool escape(struct cursor *c)
{
	long u;

	if (c->i >= c->n)
		return false;
	switch (c->s[c->i++]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return true;
	case 'u':
		break;
	default:
		return false;
	}
	u = hex4(c);
	if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
		return false; /* not hex, or a lone low surrogate */
	if (u < 0xd800 || u > 0xdbff)
		return true;
	/* A high surrogate: a low one must follow. */
	if (!literal(c, "\\u"))
		return false;
	u = hex4(c);
	return u >= 0xdc00 && u <= 0xdfff;
}

/* string = quotation-mark *char quotation-mark (c->i is on the opening quote). */
static bool string(struct cursor *c)
{
	c->i++;
	while (c->i < c->n) {
		unsigned char ch = c->s[c->i];

		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch < 0x20)
			return false; /* raw control characters must be escaped */
		if (ch == '\\') {
			c->i++;
			if (!escape(c))
				return false;
		} else if (ch < 0x80) {
			c->i++;
		} else {
			size_t step = proto_utf8_seq(c->s + c->i, c->n - c->i);

			if (step == 0)
				return false;
			c->i += step;
		}
	}
	return false; /* unterminated */
}

static bool members(struct cursor *c, int depth, bool object)
{
	unsigned char close = object ? '}' : ']';

	c->i++; /* '{' or '[' */
	skip_ws(c);
	if (at(c, close)) {
		c->i++;
		return true;
	}
	for (;;) {
		if (object) {
			if (!at(c, '"') || !string(c))
				return false;
			skip_ws(c);
			if (!at(c, ':'))
				return false;
			c->i++;
		}
		if (!value(c, depth))
			return false; /* value() skips the whitespace around it */
		if (at(c, close)) {
			c->i++;
			return true;
		}
		if (!at(c, ','))
			return false;
		c->i++;
		skip_ws(c); /* a trailing comma fails at the next member */
	}
}

/* ws value ws, leaving c->i after the trailing whitespace. depth counts the
 * arrays and objects this value is inside of. */
static bool value(struct cursor *c, int depth)
{
	bool ok;

	skip_ws(c);
	if (c->i >= c->n)
		return false;
	switch (c->s[c->i]) {
	case '{':
	case '[':
		if (depth >= PJ_JSON_MAX_DEPTH)
			return false;
		ok = members(c, depth + 1, c->s[c->i] == '{');
		break;
	case '"':
		ok = string(c);
		break;
	case 't':
		ok = literal(c, "true");
		break;
	case 'f':
		ok = literal(c, "false");
		break;
	case 'n':
		ok = literal(c, "null");
		break;
	default:
		ok = number(c);
		break;
	}
	skip_ws(c);
	return ok;
}

bool pj_json_valid(const void *text, size_t len)
{
	struct cursor c = {text, len, 0};

	if (text == NULL)
		return false;
	return value(&c, 0) && c.i == c.n;
}

bool proto_json_valid(const void *text, size_t len)
{
	return pj_json_valid(text, len);
}

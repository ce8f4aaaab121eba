/*
 * proto.h: the authchat protocol above the framing: status codes that
 * start every server message.  See authchat-protocol(7).
 *
 * A server message is "CCC" then ' ' or '-' then text.  '-' means more
 * messages follow before the client may speak; ' ' means the server now
 * waits for the client (or, for a closing code, closes).
 *
 * Changing the meaning of a code or the message sequence means a new
 * protocol version: bump PROTO_VERSION.
 */
#ifndef PROTO_H
#define PROTO_H

#define PROTO_NAME		"authchat"
#define PROTO_VERSION		1

#define CODE_GREETING		220	/* "authchat/1 ..." first message */
#define CODE_BYE		221	/* goodbye, server closes */
#define CODE_TOKEN		235	/* a new session token: keep it */
#define CODE_REVOKED		236	/* the session ended: forget the token */
#define CODE_OK			250	/* reply, the client's turn */
#define CODE_PROMPT		330	/* answer with plain input */
#define CODE_SECRET		331	/* answer with secret input, no echo */
#define CODE_TOKEN_ASK		332	/* answer with the kept token, or "" */
#define CODE_CLOSING		421	/* service closing: busy, timeout, error */
#define CODE_ERROR		500	/* error; the conversation goes on */
#define CODE_BAD_NAME		501	/* a name that breaks the rules */
#define CODE_AUTH_FAILED	530	/* login incorrect */
#define CODE_TOKEN_BAD		535	/* token refused: forget it */
#define CODE_REFUSED		550	/* a new password that breaks the rules */

/* Class of a code, first digit. */
#define CODE_CLASS(c)		((c) / 100)
#define CODE_IS_PROMPT(c)	(CODE_CLASS(c) == 3)
#define CODE_IS_CLOSING(c)	((c) == CODE_BYE || (c) == CODE_CLOSING)

#endif /* PROTO_H */

#include "textflag.h"

// func int80(nr, a1 uint32) int32
TEXT ·int80(SB), NOSPLIT, $0-12
	MOVL nr+0(FP), AX
	MOVL a1+4(FP), BX
	INT  $0x80
	MOVL AX, ret+8(FP)
	RET

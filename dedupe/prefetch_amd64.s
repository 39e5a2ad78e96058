#include "textflag.h"

// func prefetchSlots(t []slot, idx []uint64)
TEXT ·prefetchSlots(SB), NOSPLIT, $0-48
	MOVQ t_base+0(FP), AX
	MOVQ t_len+8(FP), BX
	DECQ BX                      // mask = len(t)-1
	MOVQ idx_base+24(FP), SI
	MOVQ idx_len+32(FP), CX
	TESTQ CX, CX
	JEQ done
loop:
	MOVQ (SI), DX
	MOVQ DX, DI
	SHLQ $4, DX                  // 16-byte slots
	PREFETCHT0 (AX)(DX*1)
	ADDQ $4, DI
	ANDQ BX, DI
	SHLQ $4, DI
	PREFETCHT0 (AX)(DI*1)
	ADDQ $8, SI
	DECQ CX
	JNE loop
done:
	RET

/* The kernel library's LLVM bitcode, embedded in the compiler so codegen can
 * link it into every module it generates (see kernels/kernels.h). */
        .section .rodata
        .globl tc_kernels_bc
        .globl tc_kernels_bc_end
        .balign 16
tc_kernels_bc:
        .incbin TC_KERNELS_BC
tc_kernels_bc_end:
        .byte 0
        .section .note.GNU-stack,"",@progbits

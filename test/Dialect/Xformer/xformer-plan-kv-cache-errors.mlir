// Bad planner input: a clear error naming the cause and the numbers.
// A sequence of 8192 positions: 8192 x 4096 + 4096 x 4096 (the ring) = 48 MiB.
// RUN: not xformer-opt %s --xformer-plan-kv-cache="max-seq-len=8192 max-batch=512 budget=16GiB" 2>&1 | FileCheck %s --check-prefix=OVER
// OVER: error: xformer-plan-kv-cache: KV cache plan needs 25769803776 bytes (24.00 GiB) (512 sequences of 50331648 bytes (48.00 MiB)) but the budget is 17179869184 bytes (16.00 GiB); 341 sequences of max-seq-len 8192 fit
// RUN: not xformer-opt %s --xformer-plan-kv-cache="max-seq-len=8192 budget=40MiB" 2>&1 | FileCheck %s --check-prefix=SMALL
// SMALL: error: xformer-plan-kv-cache: budget of 41943040 bytes (40.00 MiB) is smaller than one sequence of max-seq-len 8192, which needs 50331648 bytes (48.00 MiB)
// A window wider than max-seq-len is legal: the ring holds max-seq-len.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=48" 2>&1 | FileCheck %s --check-prefix=WINDOW
// WINDOW: xformer.kv_cache @layers.1 ring, kv_heads = 8, head_dim = 128, window = 4096 {bytes = 196608 : i64, capacity = 48 : i64
// Sizes that would overflow the byte counts are refused, not wrapped.
// RUN: not xformer-opt %s --xformer-plan-kv-cache="max-seq-len=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: error: xformer-plan-kv-cache: the KV caches of 1 sequences of max-seq-len 4611686018427387904 need more than 2^60 bytes
// RUN: not xformer-opt %s --xformer-plan-kv-cache="layout=paged block-size=4611686018427387904 max-seq-len=8" 2>&1 | FileCheck %s --check-prefix=HUGE-BLOCK
// HUGE-BLOCK: error: xformer-plan-kv-cache: the KV caches of 1 sequences of max-seq-len 8 need more than 2^60 bytes
// RUN: not xformer-opt %s --xformer-plan-kv-cache="layout=blocked" 2>&1 | FileCheck %s --check-prefix=LAYOUT
// LAYOUT: for the --layout option: Cannot find option named 'blocked'!
// RUN: not xformer-opt %s --xformer-plan-kv-cache="layout=paged block-size=0 max-seq-len=8192" 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: error: xformer-plan-kv-cache: layout=paged needs a positive block-size, got 0
// RUN: not xformer-opt %s --xformer-plan-kv-cache="cache-dtype=fp4" 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: for the --cache-dtype option: Cannot find option named 'fp4'!
// RUN: not xformer-opt %s --xformer-plan-kv-cache="budget=lots" 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: error: xformer-plan-kv-cache: cannot read budget 'lots'
// RUN: not xformer-opt %s --xformer-plan-kv-cache="max-batch=0" 2>&1 | FileCheck %s --check-prefix=BATCH
// BATCH: error: xformer-plan-kv-cache: max-batch and max-seq-len must be positive
// RUN: not xformer-opt %s --xformer-plan-kv-cache="layout=paged block-size=16 max-seq-len=8192 budget=40MiB" 2>&1 | FileCheck %s --check-prefix=PAGED
// PAGED: error: xformer-plan-kv-cache: budget of 41943040 bytes (40.00 MiB) holds 383 blocks of 16 positions (65536 bytes each), fewer than the 512 one sequence of max-seq-len 8192 needs
// RUN: echo 'module {}' | not xformer-opt --xformer-plan-kv-cache 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: error: xformer-plan-kv-cache: the module declares no xformer.kv_cache

module {
  xformer.kv_cache @layers.0 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @layers.1 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
}

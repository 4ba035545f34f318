;; The macro-kernel of lmmkit's packed dgemm/dsyrk in WebAssembly SIMD
;; (simd128): the loop over the 4 x 4 micro-tiles of one mc x nc block of C,
;; from panels packed exactly as src/linalg/js/blas.ts packs them (slivers of
;; 4 rows of alpha op(A), slivers of 4 columns of op(B), kc deep).
;;
;; Each tile's 16 sums live in eight f64x2 accumulators (rows 0-1 and 2-3 of
;; each of the 4 columns). Every step is a multiply then an add, in the order
;; of the js micro-kernel: wasm has no fused multiply-add in simd128, so the
;; results are bit-identical to the js kernel's.
;;
;; Regenerate src/linalg/wasm/gemm-bytes.ts after editing: npm run build:wasm.
(module
  (memory (export "memory") 1)

  ;; macroKernel(mc, nc, kc, diag, pa, pb, c, ldc): C += A_packed B_packed on
  ;; the mc x nc block at byte offset c (column-major, leading dimension ldc
  ;; in doubles); pa and pb are the byte offsets of the packed panels. diag is
  ;; the row minus column index of the block's first element relative to the
  ;; diagonal of a triangular C (elements above the diagonal are not
  ;; touched); a huge diag means a general C. Bytes 0-127 are the scratch
  ;; tile of partial tiles.
  (func (export "macroKernel")
    (param $mc i32) (param $nc i32) (param $kc i32) (param $diag i32)
    (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32)
    (local $jr i32) (local $ir i32) (local $nr i32) (local $mr i32) (local $d i32)
    (local $ia i32) (local $ib i32) (local $p i32) (local $ci i32) (local $ldcb i32)
    (local $r i32) (local $s i32) (local $x i32)
    (local $a01 v128) (local $a23 v128) (local $b v128)
    (local $c00 v128) (local $c20 v128) (local $c01 v128) (local $c21 v128)
    (local $c02 v128) (local $c22 v128) (local $c03 v128) (local $c23 v128)
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 3)))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_s (local.get $jr) (local.get $nc)))
        (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
        (if (i32.gt_s (local.get $nr) (i32.const 4)) (then (local.set $nr (i32.const 4))))
        (local.set $ir (i32.const 0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_s (local.get $ir) (local.get $mc)))
            (local.set $mr (i32.sub (local.get $mc) (local.get $ir)))
            (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
            (local.set $d (i32.sub (i32.add (local.get $diag) (local.get $ir)) (local.get $jr)))
            ;; Skip a tile wholly above the diagonal.
            (if (i32.ge_s (i32.add (local.get $d) (i32.sub (local.get $mr) (i32.const 1))) (i32.const 0))
              (then
                (local.set $ia (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 3))))
                (local.set $ib (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 3))))
                (local.set $c00 (v128.const i64x2 0 0))
                (local.set $c20 (v128.const i64x2 0 0))
                (local.set $c01 (v128.const i64x2 0 0))
                (local.set $c21 (v128.const i64x2 0 0))
                (local.set $c02 (v128.const i64x2 0 0))
                (local.set $c22 (v128.const i64x2 0 0))
                (local.set $c03 (v128.const i64x2 0 0))
                (local.set $c23 (v128.const i64x2 0 0))
                (local.set $p (local.get $kc))
                (block $pdone
                  (loop $ploop
                    (br_if $pdone (i32.le_s (local.get $p) (i32.const 0)))
                    (local.set $a01 (v128.load (local.get $ia)))
                    (local.set $a23 (v128.load offset=16 (local.get $ia)))
                    (local.set $b (v128.load64_splat (local.get $ib)))
                    (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $a01) (local.get $b))))
                    (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $a23) (local.get $b))))
                    (local.set $b (v128.load64_splat offset=8 (local.get $ib)))
                    (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $a01) (local.get $b))))
                    (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $a23) (local.get $b))))
                    (local.set $b (v128.load64_splat offset=16 (local.get $ib)))
                    (local.set $c02 (f64x2.add (local.get $c02) (f64x2.mul (local.get $a01) (local.get $b))))
                    (local.set $c22 (f64x2.add (local.get $c22) (f64x2.mul (local.get $a23) (local.get $b))))
                    (local.set $b (v128.load64_splat offset=24 (local.get $ib)))
                    (local.set $c03 (f64x2.add (local.get $c03) (f64x2.mul (local.get $a01) (local.get $b))))
                    (local.set $c23 (f64x2.add (local.get $c23) (f64x2.mul (local.get $a23) (local.get $b))))
                    (local.set $ia (i32.add (local.get $ia) (i32.const 32)))
                    (local.set $ib (i32.add (local.get $ib) (i32.const 32)))
                    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                    (br $ploop)))
                (local.set $ci (i32.add (local.get $c)
                  (i32.shl (i32.add (local.get $ir) (i32.mul (local.get $jr) (local.get $ldc))) (i32.const 3))))
                (if (i32.and (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 4)))
                             (i32.ge_s (local.get $d) (i32.const 3)))
                  (then
                    ;; A full tile on or below the diagonal: C += tile, column by column.
                    (v128.store (local.get $ci) (f64x2.add (v128.load (local.get $ci)) (local.get $c00)))
                    (v128.store offset=16 (local.get $ci) (f64x2.add (v128.load offset=16 (local.get $ci)) (local.get $c20)))
                    (local.set $ci (i32.add (local.get $ci) (local.get $ldcb)))
                    (v128.store (local.get $ci) (f64x2.add (v128.load (local.get $ci)) (local.get $c01)))
                    (v128.store offset=16 (local.get $ci) (f64x2.add (v128.load offset=16 (local.get $ci)) (local.get $c21)))
                    (local.set $ci (i32.add (local.get $ci) (local.get $ldcb)))
                    (v128.store (local.get $ci) (f64x2.add (v128.load (local.get $ci)) (local.get $c02)))
                    (v128.store offset=16 (local.get $ci) (f64x2.add (v128.load offset=16 (local.get $ci)) (local.get $c22)))
                    (local.set $ci (i32.add (local.get $ci) (local.get $ldcb)))
                    (v128.store (local.get $ci) (f64x2.add (v128.load (local.get $ci)) (local.get $c03)))
                    (v128.store offset=16 (local.get $ci) (f64x2.add (v128.load offset=16 (local.get $ci)) (local.get $c23))))
                  (else
                    ;; An edge or diagonal tile: spill it to the scratch tile, then add
                    ;; its leading mr x nr part on or below the diagonal.
                    (v128.store (i32.const 0) (local.get $c00))
                    (v128.store (i32.const 16) (local.get $c20))
                    (v128.store (i32.const 32) (local.get $c01))
                    (v128.store (i32.const 48) (local.get $c21))
                    (v128.store (i32.const 64) (local.get $c02))
                    (v128.store (i32.const 80) (local.get $c22))
                    (v128.store (i32.const 96) (local.get $c03))
                    (v128.store (i32.const 112) (local.get $c23))
                    (local.set $s (i32.const 0))
                    (block $sdone
                      (loop $sloop
                        (br_if $sdone (i32.ge_s (local.get $s) (local.get $nr)))
                        (local.set $r (i32.sub (local.get $s) (local.get $d)))
                        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (local.set $r (i32.const 0))))
                        (block $rdone
                          (loop $rloop
                            (br_if $rdone (i32.ge_s (local.get $r) (local.get $mr)))
                            (local.set $x (i32.add (local.get $ci)
                              (i32.shl (i32.add (local.get $r) (i32.mul (local.get $s) (local.get $ldc))) (i32.const 3))))
                            (f64.store (local.get $x)
                              (f64.add (f64.load (local.get $x))
                                (f64.load (i32.shl (i32.add (local.get $r) (i32.shl (local.get $s) (i32.const 2))) (i32.const 3)))))
                            (local.set $r (i32.add (local.get $r) (i32.const 1)))
                            (br $rloop)))
                        (local.set $s (i32.add (local.get $s) (i32.const 1)))
                        (br $sloop)))))))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (br $iloop)))
        (local.set $jr (i32.add (local.get $jr) (i32.const 4)))
        (br $jloop)))))

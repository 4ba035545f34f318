;; The two passes over N of one evaluation of MM4LMM's profiled REML
;; iteration (mm-eigen-gls.ts, design = [shared column x0, own column x1],
;; V~ = delta D + I on rotated data), for two models at once: model A in
;; lane 0 of every f64x2, model B in lane 1. Each lane does the very
;; operations of the js loops of glsSums (p = 2, 'reml') and glsSolve, in
;; their order (a multiply then an add: simd128 has no fused multiply-add), so
;; each model gets the bits of its js evaluation; two lanes halve the
;; arithmetic, and the shared d, y and x0 are loaded once for both.
;;
;; Regenerate src/varcomp/wasm/mm-scan-bytes.ts after editing: npm run build:wasm.
(module
  (memory (export "memory") 1)

  ;; pass1(n, pd, py, px0, pxa, pxb, pw, deltaA, deltaB, pout): with
  ;; v = delta d_i + 1 and w_i = 1 / v, the sums
  ;;   m00 = sum w x0 x0, m10 = sum w x1 x0, m11 = sum w x1 x1,
  ;;   b0 = sum w x0 y, b1 = sum w x1 y, yWy = sum w y y, sdw = sum d w,
  ;;   g00 = sum d w x0 w x0, g10 = sum d w x1 w x0, g11 = sum d w x1 w x1,
  ;; and prod v as glsSums keeps it (whenever the running product leaves
  ;; [1e-150, 1e150] it is set aside and restarts at 1), into 11 f64x2 at
  ;; pout in that order, then bad (all bits set in a lane where some v was
  ;; not > 0), then the number of products set aside in lanes A and B (two
  ;; i32). Those products go to plog (lane A) and plog + 8n (lane B), in
  ;; order, for the caller to sum their logs in js's order (no call in the
  ;; loop: a call would make every sum live across it spill). The weights
  ;; go to pw interleaved (A, B per row). pd, py, px0, pxa, pxb: byte
  ;; offsets of n doubles each.
  (func (export "pass1")
    (param $n i32) (param $pd i32) (param $py i32) (param $px0 i32) (param $pxa i32) (param $pxb i32)
    (param $pw i32) (param $da f64) (param $db f64) (param $pout i32) (param $plog i32)
    (local $o i32) (local $end i32) (local $ow i32) (local $na i32) (local $nb i32) (local $plogb i32)
    (local $delta v128) (local $one v128) (local $big v128) (local $small v128)
    (local $di v128) (local $v v128) (local $wi v128) (local $yi v128) (local $x0 v128) (local $x1 v128)
    (local $wx0 v128) (local $wx1 v128) (local $dwx1 v128) (local $mask v128)
    (local $prod v128) (local $bad v128)
    (local $m00 v128) (local $m10 v128) (local $m11 v128) (local $b0 v128) (local $b1 v128)
    (local $yWy v128) (local $sdw v128) (local $g00 v128) (local $g10 v128) (local $g11 v128)
    (local.set $delta (f64x2.replace_lane 1 (f64x2.splat (local.get $da)) (local.get $db)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $big (f64x2.splat (f64.const 1e150)))
    (local.set $small (f64x2.splat (f64.const 1e-150)))
    (local.set $prod (local.get $one))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $ow (local.get $pw))
    (local.set $plogb (i32.add (local.get $plog) (local.get $end)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $di (v128.load64_splat (i32.add (local.get $pd) (local.get $o))))
        (local.set $v (f64x2.add (f64x2.mul (local.get $delta) (local.get $di)) (local.get $one)))
        (local.set $bad (v128.or (local.get $bad) (v128.not (f64x2.gt (local.get $v) (v128.const i64x2 0 0)))))
        (local.set $prod (f64x2.mul (local.get $prod) (local.get $v)))
        (local.set $mask (v128.or (f64x2.gt (local.get $prod) (local.get $big)) (f64x2.lt (local.get $prod) (local.get $small))))
        (if (v128.any_true (local.get $mask))
          (then
            (if (i32x4.extract_lane 0 (local.get $mask))
              (then
                (f64.store (i32.add (local.get $plog) (i32.shl (local.get $na) (i32.const 3))) (f64x2.extract_lane 0 (local.get $prod)))
                (local.set $na (i32.add (local.get $na) (i32.const 1)))
                (local.set $prod (f64x2.replace_lane 0 (local.get $prod) (f64.const 1)))))
            (if (i32x4.extract_lane 2 (local.get $mask))
              (then
                (f64.store (i32.add (local.get $plogb) (i32.shl (local.get $nb) (i32.const 3))) (f64x2.extract_lane 1 (local.get $prod)))
                (local.set $nb (i32.add (local.get $nb) (i32.const 1)))
                (local.set $prod (f64x2.replace_lane 1 (local.get $prod) (f64.const 1)))))))
        (local.set $wi (f64x2.div (local.get $one) (local.get $v)))
        (v128.store (local.get $ow) (local.get $wi))
        (local.set $yi (v128.load64_splat (i32.add (local.get $py) (local.get $o))))
        (local.set $x0 (v128.load64_splat (i32.add (local.get $px0) (local.get $o))))
        (local.set $x1 (v128.load64_lane 1 (i32.add (local.get $pxb) (local.get $o))
          (v128.load64_splat (i32.add (local.get $pxa) (local.get $o)))))
        (local.set $wx0 (f64x2.mul (local.get $wi) (local.get $x0)))
        (local.set $wx1 (f64x2.mul (local.get $wi) (local.get $x1)))
        (local.set $m00 (f64x2.add (local.get $m00) (f64x2.mul (local.get $wx0) (local.get $x0))))
        (local.set $m10 (f64x2.add (local.get $m10) (f64x2.mul (local.get $wx1) (local.get $x0))))
        (local.set $m11 (f64x2.add (local.get $m11) (f64x2.mul (local.get $wx1) (local.get $x1))))
        (local.set $b0 (f64x2.add (local.get $b0) (f64x2.mul (local.get $wx0) (local.get $yi))))
        (local.set $b1 (f64x2.add (local.get $b1) (f64x2.mul (local.get $wx1) (local.get $yi))))
        (local.set $yWy (f64x2.add (local.get $yWy) (f64x2.mul (f64x2.mul (local.get $wi) (local.get $yi)) (local.get $yi))))
        (local.set $sdw (f64x2.add (local.get $sdw) (f64x2.mul (local.get $di) (local.get $wi))))
        (local.set $g00 (f64x2.add (local.get $g00) (f64x2.mul (f64x2.mul (local.get $di) (local.get $wx0)) (local.get $wx0))))
        (local.set $dwx1 (f64x2.mul (local.get $di) (local.get $wx1)))
        (local.set $g10 (f64x2.add (local.get $g10) (f64x2.mul (local.get $dwx1) (local.get $wx0))))
        (local.set $g11 (f64x2.add (local.get $g11) (f64x2.mul (local.get $dwx1) (local.get $wx1))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 16)))
        (br $rows)))
    (v128.store offset=0 (local.get $pout) (local.get $m00))
    (v128.store offset=16 (local.get $pout) (local.get $m10))
    (v128.store offset=32 (local.get $pout) (local.get $m11))
    (v128.store offset=48 (local.get $pout) (local.get $b0))
    (v128.store offset=64 (local.get $pout) (local.get $b1))
    (v128.store offset=80 (local.get $pout) (local.get $yWy))
    (v128.store offset=96 (local.get $pout) (local.get $sdw))
    (v128.store offset=112 (local.get $pout) (local.get $g00))
    (v128.store offset=128 (local.get $pout) (local.get $g10))
    (v128.store offset=144 (local.get $pout) (local.get $g11))
    (v128.store offset=160 (local.get $pout) (local.get $prod))
    (v128.store offset=176 (local.get $pout) (local.get $bad))
    (i32.store offset=192 (local.get $pout) (local.get $na))
    (i32.store offset=196 (local.get $pout) (local.get $nb)))

  ;; pass0(n, pd, py, px0, pxa, pxb, pw, pw0, pwx0, pout): pass1 for two
  ;; models at the delta they share at the start, from that delta's weights
  ;; w (at pw0) and w x0 (at pwx0), n doubles each: only the sums that
  ;; depend on the model, m10, m11, b1, g10 = sum (d w x1) (w x0) and
  ;; g11 = sum (d w x1) (w x1), as 5 f64x2 at pout, in markerPass's order
  ;; (mm-eigen-gls.ts), which gives glsSums' bits. The weights go to pw
  ;; interleaved as pass1 leaves them, for pass2.
  (func (export "pass0")
    (param $n i32) (param $pd i32) (param $py i32) (param $px0 i32) (param $pxa i32) (param $pxb i32)
    (param $pw i32) (param $pw0 i32) (param $pwx0 i32) (param $pout i32)
    (local $o i32) (local $end i32) (local $ow i32)
    (local $wi v128) (local $x1 v128) (local $wx1 v128) (local $dwx1 v128)
    (local $m10 v128) (local $m11 v128) (local $b1 v128) (local $g10 v128) (local $g11 v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $ow (local.get $pw))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $wi (v128.load64_splat (i32.add (local.get $pw0) (local.get $o))))
        (v128.store (local.get $ow) (local.get $wi))
        (local.set $x1 (v128.load64_lane 1 (i32.add (local.get $pxb) (local.get $o))
          (v128.load64_splat (i32.add (local.get $pxa) (local.get $o)))))
        (local.set $wx1 (f64x2.mul (local.get $wi) (local.get $x1)))
        (local.set $dwx1 (f64x2.mul (v128.load64_splat (i32.add (local.get $pd) (local.get $o))) (local.get $wx1)))
        (local.set $m10 (f64x2.add (local.get $m10)
          (f64x2.mul (local.get $wx1) (v128.load64_splat (i32.add (local.get $px0) (local.get $o))))))
        (local.set $m11 (f64x2.add (local.get $m11) (f64x2.mul (local.get $wx1) (local.get $x1))))
        (local.set $b1 (f64x2.add (local.get $b1)
          (f64x2.mul (local.get $wx1) (v128.load64_splat (i32.add (local.get $py) (local.get $o))))))
        (local.set $g10 (f64x2.add (local.get $g10)
          (f64x2.mul (local.get $dwx1) (v128.load64_splat (i32.add (local.get $pwx0) (local.get $o))))))
        (local.set $g11 (f64x2.add (local.get $g11) (f64x2.mul (local.get $dwx1) (local.get $wx1))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 16)))
        (br $rows)))
    (v128.store offset=0 (local.get $pout) (local.get $m10))
    (v128.store offset=16 (local.get $pout) (local.get $m11))
    (v128.store offset=32 (local.get $pout) (local.get $b1))
    (v128.store offset=48 (local.get $pout) (local.get $g10))
    (v128.store offset=64 (local.get $pout) (local.get $g11)))

  ;; pass2(n, pd, py, px0, pxa, pxb, pw, pbeta, pout): with e = w (y - x0
  ;; beta0 - x1 beta1) (w from pass1 at pw), bq = sum d e e and eq = sum e e,
  ;; as two f64x2 at pout. pbeta: beta0 then beta1, each an f64x2 (A, B).
  (func (export "pass2")
    (param $n i32) (param $pd i32) (param $py i32) (param $px0 i32) (param $pxa i32) (param $pxb i32)
    (param $pw i32) (param $pbeta i32) (param $pout i32)
    (local $o i32) (local $end i32) (local $ow i32)
    (local $be0 v128) (local $be1 v128) (local $x1 v128) (local $ei v128) (local $bq v128) (local $eq v128)
    (local.set $be0 (v128.load offset=0 (local.get $pbeta)))
    (local.set $be1 (v128.load offset=16 (local.get $pbeta)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $ow (local.get $pw))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $x1 (v128.load64_lane 1 (i32.add (local.get $pxb) (local.get $o))
          (v128.load64_splat (i32.add (local.get $pxa) (local.get $o)))))
        (local.set $ei (f64x2.mul (v128.load (local.get $ow))
          (f64x2.sub
            (f64x2.sub (v128.load64_splat (i32.add (local.get $py) (local.get $o)))
              (f64x2.mul (v128.load64_splat (i32.add (local.get $px0) (local.get $o))) (local.get $be0)))
            (f64x2.mul (local.get $x1) (local.get $be1)))))
        (local.set $bq (f64x2.add (local.get $bq)
          (f64x2.mul (f64x2.mul (v128.load64_splat (i32.add (local.get $pd) (local.get $o))) (local.get $ei)) (local.get $ei))))
        (local.set $eq (f64x2.add (local.get $eq) (f64x2.mul (local.get $ei) (local.get $ei))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 16)))
        (br $rows)))
    (v128.store offset=0 (local.get $pout) (local.get $bq))
    (v128.store offset=16 (local.get $pout) (local.get $eq)))
)

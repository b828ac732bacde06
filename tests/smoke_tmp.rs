mod common;
use common::*;
use vesselscan::tiling::Connectivity;

#[test]
fn smoke() {
    let r = picture(&["#..#.", ".#..#", "....#", "##...", "#...#"]);
    for conn in [Connectivity::Eight, Connectivity::Four] {
        for t in [1, 2, 3, 5, 100] {
            let o = opts(100.0, conn, t);
            let c = run_cpu(&r, &o);
            let or = oracle(&r, 100, conn, None);
            assert_eq!(c, or, "cpu conn {conn:?} tile {t}");
            if let Some(g) = run_gpu(&r, &o) {
                assert_eq!(g, or, "gpu conn {conn:?} tile {t}");
            }
        }
    }
}

// A kernel-style intrusive augmented red-black interval tree: the C baseline
// that `notifier-bench --workload tree` measures the project's tree against.
// Modelled on include/linux/interval_tree_generic.h over lib/rbtree.c and
// include/linux/rbtree_augmented.h: parent pointer and colour packed in one
// word, each node caching the largest `last` of its subtree (kept up to date on
// the insert path, on every rotation and on the erase path), a cached leftmost
// node, no allocation (the caller owns the nodes), updates in place, no locking.
// Benchmark side only: the library never links this target. Names are
// prefixed `ctb_` (C names share one name space across targets).
#ifndef CTREE_BASELINE_H
#define CTREE_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/// One interval `[start, last]` and its tree links, embedded by the caller
/// (48 bytes, as the kernel's `struct interval_tree_node`).
struct ctb_node {
    /// Parent pointer with the colour in bit 0 (1 = black).
    uintptr_t parent_color;
    /// Right child (larger or equal starts).
    struct ctb_node *right;
    /// Left child (smaller starts).
    struct ctb_node *left;
    /// First value of the interval.
    uint64_t start;
    /// Last value of the interval (inclusive), `>= start`.
    uint64_t last;
    /// Largest `last` in the subtree rooted here (the augmented value).
    uint64_t subtree_last;
};

/// A tree: its root and its leftmost node (NULL when empty).
struct ctb_root {
    struct ctb_node *node;
    struct ctb_node *leftmost;
};

/// An empty tree.
static inline struct ctb_root ctb_root_empty(void) {
    struct ctb_root root = { NULL, NULL };
    return root;
}

/// Inserts `node`, whose `start` and `last` the caller has set (duplicates allowed).
void ctb_insert(struct ctb_node *node, struct ctb_root *root);

/// Removes `node`, which must be in the tree.
void ctb_erase(struct ctb_node *node, struct ctb_root *root);

/// The overlapping node with the lowest start, or NULL: a stab of `[start, last]`.
struct ctb_node *ctb_iter_first(const struct ctb_root *root, uint64_t start, uint64_t last);

/// The next overlapping node after `node` (in start order), or NULL.
struct ctb_node *ctb_iter_next(const struct ctb_node *node, uint64_t start, uint64_t last);

/// Number of nodes overlapping `[start, last]` (an `iter_first`/`iter_next` walk).
size_t ctb_count_overlapping(const struct ctb_root *root, uint64_t start, uint64_t last);

/// Checks every invariant of the tree (tests): in-order starts non-decreasing,
/// parent links, root black, no red node with a red child, equal black height,
/// every `subtree_last` exact, `leftmost` the first node. Returns the number of
/// nodes, or a negative code naming the first broken invariant:
/// -1 order, -2 parent link, -3 red root, -4 red-red, -5 black height,
/// -6 subtree_last, -7 leftmost.
long ctb_validate(const struct ctb_root *root);

#endif

// The kernel-style augmented red-black interval tree of ctree_baseline.h.
// The rebalancing follows lib/rbtree.c (insert cases 1-3, erase cases 1-3 and
// the erase colour fix-up cases 1-4) with the augment callbacks of
// RB_DECLARE_CALLBACKS_MAX specialised in (propagate, copy, rotate), and the
// search and iteration of interval_tree_generic.h.
#include "ctree_baseline.h"

enum { CTB_RED = 0, CTB_BLACK = 1 };

// MARK: - Links and colours

static inline struct ctb_node *ctb_parent_of(uintptr_t parent_color) {
    return (struct ctb_node *)(parent_color & ~(uintptr_t)3);
}

static inline struct ctb_node *ctb_parent(const struct ctb_node *node) { return ctb_parent_of(node->parent_color); }

static inline int ctb_is_black(const struct ctb_node *node) { return (int)(node->parent_color & 1); }

static inline int ctb_is_red(const struct ctb_node *node) { return !ctb_is_black(node); }

static inline void ctb_set_parent(struct ctb_node *node, struct ctb_node *parent) {
    node->parent_color = (uintptr_t)parent | (node->parent_color & 1);
}

static inline void ctb_set_parent_color(struct ctb_node *node, struct ctb_node *parent, int color) {
    node->parent_color = (uintptr_t)parent | (uintptr_t)color;
}

static inline void ctb_set_black(struct ctb_node *node) { node->parent_color |= CTB_BLACK; }

/// Makes `parent` (or the root) point at `new_node` where it pointed at `old`.
static inline void ctb_change_child(struct ctb_node *old, struct ctb_node *new_node, struct ctb_node *parent,
                                    struct ctb_root *root) {
    if (parent) {
        if (parent->left == old)
            parent->left = new_node;
        else
            parent->right = new_node;
    } else {
        root->node = new_node;
    }
}

/// After a rotation that lifts `new_node` into `old`'s place: `new_node` takes
/// `old`'s parent and colour, `old` becomes its child with `color`.
static inline void ctb_rotate_set_parents(struct ctb_node *old, struct ctb_node *new_node, struct ctb_root *root,
                                          int color) {
    struct ctb_node *parent = ctb_parent(old);
    new_node->parent_color = old->parent_color;
    ctb_set_parent_color(old, new_node, color);
    ctb_change_child(old, new_node, parent, root);
}

// MARK: - Augment callbacks (max of `last` over the subtree)

static inline uint64_t ctb_compute_subtree_last(const struct ctb_node *node) {
    uint64_t max = node->last;
    if (node->left && node->left->subtree_last > max) max = node->left->subtree_last;
    if (node->right && node->right->subtree_last > max) max = node->right->subtree_last;
    return max;
}

/// Recomputes `subtree_last` from `node` up to `stop` (exclusive), stopping
/// early once a value is unchanged.
static inline void ctb_augment_propagate(struct ctb_node *node, struct ctb_node *stop) {
    while (node != stop) {
        uint64_t augmented = ctb_compute_subtree_last(node);
        if (node->subtree_last == augmented) break;
        node->subtree_last = augmented;
        node = ctb_parent(node);
    }
}

/// `new_node` takes `old`'s place in the tree (same subtree).
static inline void ctb_augment_copy(const struct ctb_node *old, struct ctb_node *new_node) {
    new_node->subtree_last = old->subtree_last;
}

/// `new_node` was rotated above `old`: it now roots `old`'s former subtree.
static inline void ctb_augment_rotate(struct ctb_node *old, struct ctb_node *new_node) {
    new_node->subtree_last = old->subtree_last;
    old->subtree_last = ctb_compute_subtree_last(old);
}

// MARK: - Insert

/// Restores the red-black properties after linking the red `node` (lib/rbtree.c `__rb_insert`).
static void ctb_insert_fixup(struct ctb_node *node, struct ctb_root *root) {
    struct ctb_node *parent = ctb_parent(node), *gparent, *tmp;
    for (;;) {
        if (!parent) {
            // The inserted node (or a recoloured grandparent) is the root.
            ctb_set_parent_color(node, NULL, CTB_BLACK);
            break;
        }
        if (ctb_is_black(parent)) break;
        gparent = ctb_parent(parent); // a red parent is never the root
        tmp = gparent->right;
        if (parent != tmp) { // parent is gparent's left child
            if (tmp && ctb_is_red(tmp)) {
                // Case 1: red uncle: recolour and continue two levels up.
                ctb_set_parent_color(tmp, gparent, CTB_BLACK);
                ctb_set_parent_color(parent, gparent, CTB_BLACK);
                node = gparent;
                parent = ctb_parent(node);
                ctb_set_parent_color(node, parent, CTB_RED);
                continue;
            }
            tmp = parent->right;
            if (node == tmp) {
                // Case 2: node is a right child: left rotate at parent.
                tmp = node->left;
                parent->right = tmp;
                node->left = parent;
                if (tmp) ctb_set_parent_color(tmp, parent, CTB_BLACK);
                ctb_set_parent_color(parent, node, CTB_RED);
                ctb_augment_rotate(parent, node);
                parent = node;
                tmp = node->right;
            }
            // Case 3: right rotate at gparent.
            gparent->left = tmp;
            parent->right = gparent;
            if (tmp) ctb_set_parent_color(tmp, gparent, CTB_BLACK);
            ctb_rotate_set_parents(gparent, parent, root, CTB_RED);
            ctb_augment_rotate(gparent, parent);
            break;
        } else { // parent is gparent's right child: the mirror image
            tmp = gparent->left;
            if (tmp && ctb_is_red(tmp)) {
                ctb_set_parent_color(tmp, gparent, CTB_BLACK);
                ctb_set_parent_color(parent, gparent, CTB_BLACK);
                node = gparent;
                parent = ctb_parent(node);
                ctb_set_parent_color(node, parent, CTB_RED);
                continue;
            }
            tmp = parent->left;
            if (node == tmp) {
                tmp = node->right;
                parent->left = tmp;
                node->right = parent;
                if (tmp) ctb_set_parent_color(tmp, parent, CTB_BLACK);
                ctb_set_parent_color(parent, node, CTB_RED);
                ctb_augment_rotate(parent, node);
                parent = node;
                tmp = node->left;
            }
            gparent->right = tmp;
            parent->left = gparent;
            if (tmp) ctb_set_parent_color(tmp, gparent, CTB_BLACK);
            ctb_rotate_set_parents(gparent, parent, root, CTB_RED);
            ctb_augment_rotate(gparent, parent);
            break;
        }
    }
}

void ctb_insert(struct ctb_node *node, struct ctb_root *root) {
    struct ctb_node **link = &root->node, *parent = NULL;
    uint64_t start = node->start, last = node->last;
    int leftmost = 1;
    while (*link) {
        parent = *link;
        // Raise the max-last of every ancestor on the way down.
        if (parent->subtree_last < last) parent->subtree_last = last;
        if (start < parent->start) {
            link = &parent->left;
        } else {
            link = &parent->right;
            leftmost = 0;
        }
    }
    node->subtree_last = last;
    node->parent_color = (uintptr_t)parent; // red
    node->left = node->right = NULL;
    *link = node;
    if (leftmost) root->leftmost = node;
    ctb_insert_fixup(node, root);
}

// MARK: - Erase

static struct ctb_node *ctb_next(const struct ctb_node *node) {
    struct ctb_node *parent;
    if (node->right) {
        node = node->right;
        while (node->left) node = node->left;
        return (struct ctb_node *)node;
    }
    while ((parent = ctb_parent(node)) && node == parent->right) node = parent;
    return parent;
}

/// Unlinks `node`; returns the node where the colour fix-up starts, or NULL
/// (lib/rbtree.c `__rb_erase_augmented`).
static struct ctb_node *ctb_erase_unlink(struct ctb_node *node, struct ctb_root *root) {
    struct ctb_node *child = node->right, *tmp = node->left, *parent, *rebalance;
    uintptr_t pc;
    if (!tmp) {
        // Case 1: at most one child, the right one.
        pc = node->parent_color;
        parent = ctb_parent_of(pc);
        ctb_change_child(node, child, parent, root);
        if (child) {
            child->parent_color = pc;
            rebalance = NULL;
        } else {
            rebalance = (pc & 1) ? parent : NULL;
        }
        tmp = parent;
    } else if (!child) {
        // Still case 1, with the left child.
        tmp->parent_color = pc = node->parent_color;
        parent = ctb_parent_of(pc);
        ctb_change_child(node, tmp, parent, root);
        rebalance = NULL;
        tmp = parent;
    } else {
        struct ctb_node *successor = child, *child2;
        tmp = child->left;
        if (!tmp) {
            // Case 2: the successor is the right child.
            parent = successor;
            child2 = successor->right;
            ctb_augment_copy(node, successor);
        } else {
            // Case 3: the successor is the leftmost node of the right subtree.
            do {
                parent = successor;
                successor = tmp;
                tmp = tmp->left;
            } while (tmp);
            child2 = successor->right;
            parent->left = child2;
            successor->right = child;
            ctb_set_parent(child, successor);
            ctb_augment_copy(node, successor);
            ctb_augment_propagate(parent, successor);
        }
        tmp = node->left;
        successor->left = tmp;
        ctb_set_parent(tmp, successor);
        pc = node->parent_color;
        tmp = ctb_parent_of(pc);
        ctb_change_child(node, successor, tmp, root);
        if (child2) {
            ctb_set_parent_color(child2, parent, CTB_BLACK);
            rebalance = NULL;
        } else {
            rebalance = ctb_is_black(successor) ? parent : NULL;
        }
        successor->parent_color = pc;
        tmp = successor;
    }
    ctb_augment_propagate(tmp, NULL);
    return rebalance;
}

/// Restores the red-black properties below `parent`, one of whose subtrees
/// lost a black node (lib/rbtree.c `____rb_erase_color`).
static void ctb_erase_fixup(struct ctb_node *parent, struct ctb_root *root) {
    struct ctb_node *node = NULL, *sibling, *tmp1, *tmp2;
    for (;;) {
        sibling = parent->right;
        if (node != sibling) { // node is parent's left child
            if (ctb_is_red(sibling)) {
                // Case 1: left rotate at parent.
                tmp1 = sibling->left;
                parent->right = tmp1;
                sibling->left = parent;
                ctb_set_parent_color(tmp1, parent, CTB_BLACK);
                ctb_rotate_set_parents(parent, sibling, root, CTB_RED);
                ctb_augment_rotate(parent, sibling);
                sibling = tmp1;
            }
            tmp1 = sibling->right;
            if (!tmp1 || ctb_is_black(tmp1)) {
                tmp2 = sibling->left;
                if (!tmp2 || ctb_is_black(tmp2)) {
                    // Case 2: sibling colour flip.
                    ctb_set_parent_color(sibling, parent, CTB_RED);
                    if (ctb_is_red(parent)) {
                        ctb_set_black(parent);
                    } else {
                        node = parent;
                        parent = ctb_parent(node);
                        if (parent) continue;
                    }
                    break;
                }
                // Case 3: right rotate at sibling.
                tmp1 = tmp2->right;
                sibling->left = tmp1;
                tmp2->right = sibling;
                parent->right = tmp2;
                if (tmp1) ctb_set_parent_color(tmp1, sibling, CTB_BLACK);
                ctb_augment_rotate(sibling, tmp2);
                tmp1 = sibling;
                sibling = tmp2;
            }
            // Case 4: left rotate at parent and recolour.
            tmp2 = sibling->left;
            parent->right = tmp2;
            sibling->left = parent;
            ctb_set_parent_color(tmp1, sibling, CTB_BLACK);
            if (tmp2) ctb_set_parent(tmp2, parent);
            ctb_rotate_set_parents(parent, sibling, root, CTB_BLACK);
            ctb_augment_rotate(parent, sibling);
            break;
        } else { // the mirror image
            sibling = parent->left;
            if (ctb_is_red(sibling)) {
                tmp1 = sibling->right;
                parent->left = tmp1;
                sibling->right = parent;
                ctb_set_parent_color(tmp1, parent, CTB_BLACK);
                ctb_rotate_set_parents(parent, sibling, root, CTB_RED);
                ctb_augment_rotate(parent, sibling);
                sibling = tmp1;
            }
            tmp1 = sibling->left;
            if (!tmp1 || ctb_is_black(tmp1)) {
                tmp2 = sibling->right;
                if (!tmp2 || ctb_is_black(tmp2)) {
                    ctb_set_parent_color(sibling, parent, CTB_RED);
                    if (ctb_is_red(parent)) {
                        ctb_set_black(parent);
                    } else {
                        node = parent;
                        parent = ctb_parent(node);
                        if (parent) continue;
                    }
                    break;
                }
                tmp1 = tmp2->left;
                sibling->right = tmp1;
                tmp2->left = sibling;
                parent->left = tmp2;
                if (tmp1) ctb_set_parent_color(tmp1, sibling, CTB_BLACK);
                ctb_augment_rotate(sibling, tmp2);
                tmp1 = sibling;
                sibling = tmp2;
            }
            tmp2 = sibling->right;
            parent->left = tmp2;
            sibling->right = parent;
            ctb_set_parent_color(tmp1, sibling, CTB_BLACK);
            if (tmp2) ctb_set_parent(tmp2, parent);
            ctb_rotate_set_parents(parent, sibling, root, CTB_BLACK);
            ctb_augment_rotate(parent, sibling);
            break;
        }
    }
}

void ctb_erase(struct ctb_node *node, struct ctb_root *root) {
    if (root->leftmost == node) root->leftmost = ctb_next(node);
    struct ctb_node *rebalance = ctb_erase_unlink(node, root);
    if (rebalance) ctb_erase_fixup(rebalance, root);
}

// MARK: - Stabbing (interval_tree_generic.h)

/// The leftmost node of `node`'s subtree overlapping `[start, last]`, or NULL;
/// `node->subtree_last >= start` on entry.
static struct ctb_node *ctb_subtree_search(struct ctb_node *node, uint64_t start, uint64_t last) {
    for (;;) {
        // Loop invariant: start <= node->subtree_last (Cond2 holds somewhere below).
        if (node->left) {
            struct ctb_node *left = node->left;
            if (start <= left->subtree_last) {
                // Some left node satisfies Cond2; its start is <= node's, so
                // the leftmost match, if any, is there.
                node = left;
                continue;
            }
        }
        if (node->start <= last) {       // Cond1
            if (start <= node->last)     // Cond2
                return node;
            node = node->right;
            if (node && start <= node->subtree_last) continue;
        }
        return NULL;
    }
}

struct ctb_node *ctb_iter_first(const struct ctb_root *root, uint64_t start, uint64_t last) {
    struct ctb_node *node = root->node;
    if (!node || node->subtree_last < start) return NULL;
    if (root->leftmost->start > last) return NULL;
    return ctb_subtree_search(node, start, last);
}

struct ctb_node *ctb_iter_next(const struct ctb_node *node, uint64_t start, uint64_t last) {
    struct ctb_node *right = node->right, *prev;
    for (;;) {
        // Invariants: node->start <= last; right == node->right.
        if (right && start <= right->subtree_last) return ctb_subtree_search(right, start, last);
        // Move up until we come from a node's left child.
        do {
            struct ctb_node *up = ctb_parent(node);
            if (!up) return NULL;
            prev = (struct ctb_node *)node;
            node = up;
            right = node->right;
        } while (prev == right);
        if (last < node->start) return NULL; // !Cond1
        if (start <= node->last) return (struct ctb_node *)node; // Cond2
    }
}

size_t ctb_count_overlapping(const struct ctb_root *root, uint64_t start, uint64_t last) {
    size_t count = 0;
    for (struct ctb_node *node = ctb_iter_first(root, start, last); node; node = ctb_iter_next(node, start, last))
        count++;
    return count;
}

// MARK: - Validation (tests)

/// Checks the subtree at `node` (child of `parent`); returns its black height
/// or a negative code, counting its nodes into `*count` and its in-order
/// predecessor chain through `*previous`.
static long ctb_validate_subtree(const struct ctb_node *node, const struct ctb_node *parent,
                                 const struct ctb_node **previous, long *count) {
    if (!node) return 1;
    if (ctb_parent(node) != parent) return -2;
    if (ctb_is_red(node) && parent && ctb_is_red(parent)) return -4;
    long left = ctb_validate_subtree(node->left, node, previous, count);
    if (left < 0) return left;
    if (*previous && (*previous)->start > node->start) return -1;
    *previous = node;
    *count += 1;
    long right = ctb_validate_subtree(node->right, node, previous, count);
    if (right < 0) return right;
    if (left != right) return -5;
    if (node->subtree_last != ctb_compute_subtree_last(node)) return -6;
    return left + ctb_is_black(node);
}

long ctb_validate(const struct ctb_root *root) {
    if (!root->node) return root->leftmost ? -7 : 0;
    if (ctb_is_red(root->node)) return -3;
    const struct ctb_node *previous = NULL;
    long count = 0;
    long height = ctb_validate_subtree(root->node, NULL, &previous, &count);
    if (height < 0) return height;
    const struct ctb_node *first = root->node;
    while (first->left) first = first->left;
    if (root->leftmost != first) return -7;
    return count;
}

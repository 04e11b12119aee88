/* core/methods/cos_head.h — CLIP's logit head, the one every method uses: logits = (scale·x̂)·ŷᵀ of
 * L2-normalised image features x̂ [B,E] and text features ŷ [C,E], its cross-entropy and the
 * gradients back to the raw features. Two orders of the gradient's products are kept, each
 * bit-for-bit what its methods computed before they shared this head: cos_head_ce (MaPLe, MuDPT,
 * MMRL: the logit gradient scaled first) and clip_head (zero-shot, CoOp, CoCoOp: the product
 * scaled after); the same numbers up to fp32 rounding. */
#ifndef CLIPGRID_CORE_COS_HEAD_H
#define CLIPGRID_CORE_COS_HEAD_H

typedef struct {
    int B, C, E;
    float scale;
    float *img_n, *img_norm, *txt_n, *txt_norm, *logits; /* device */
} CosHead;

/* img [B,E], txt [C,E] raw features (device) */
void cos_head_forward(CosHead *h, const float *img, const float *txt, int B, int C, int E,
                      float scale);
/* d_img_n [B,E] (+)= scale·dlogits·ŷ, d_txt_n [C,E] (+)= scale·dlogitsᵀ·x̂ (either may be NULL) */
void cos_head_backward(const CosHead *h, const float *dlogits, float *d_img_n, float *d_txt_n,
                       int acc);
void cos_head_free(CosHead *h);
/* mean cross-entropy of h->logits over this rank's b images (of b_global): returns the rank's
 * share of the loss; d_img [b,E], d_txt [C,E] ('=') its gradient at the raw features */
double cos_head_ce(const CosHead *h, const int *labels, int b_global, float *d_img, float *d_txt);

/* The head in one call at scale exp(logit_scale): logits [b, C] (device). With labels: returns
 * this rank's share of the global mean cross-entropy (Σ over its b images / b_global) and, when
 * non-NULL, writes d_img [b,E] and d_txt [C,E] ('=') of that share. img_n / txt_n (optional)
 * receive the normalised features. */
double clip_head(const float *img, const float *txt, int b, int C, int E, float logit_scale,
                 const int *labels, int b_global, float *logits, float *d_img, float *d_txt,
                 float *img_n, float *txt_n);

#endif

"""The MOS validation study: G.711 calls simulated through path models, scored with ITU-T P.862 PESQ, against what
every scoring model says from the probe view of the same path (``scripts/validate_mos``).

Modules: ``speech`` (reference speech from espeak-ng), ``g711`` (mu-law), ``plc`` (G.711 Appendix I style packet
loss concealment), ``paths`` (loss and delay processes of a path), ``buffers`` (fixed and adaptive jitter
buffers), ``truth`` (PESQ plus G.107's Idd: the conversational MOS of a call), ``study`` (conditions, runs and the
validation table). Needs the ``validate`` extra (numpy, scipy, pesq, matplotlib) and espeak-ng and sox.
"""

# PYNQ-Z2 (xc7z020clg400-1): the design uses PS pins only (DDR, FIXED_IO come from the PS preset).
# The PL clock is FCLK_CLK0 (hw/boards.yaml clock_mhz), constrained by the PS IP itself.
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
set_property CFGBVS VCCO [current_design]
set_property CONFIG_VOLTAGE 3.3 [current_design]

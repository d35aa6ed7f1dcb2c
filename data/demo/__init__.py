"""The synthetic demo town of Zhili: world, event plan, calibration and live simulator."""

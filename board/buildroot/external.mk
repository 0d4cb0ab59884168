include $(sort $(wildcard $(BR2_EXTERNAL_CAMERA_AGENT_PATH)/package/*/*.mk))

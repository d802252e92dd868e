"""Driving a real ComfyUI from outside: provisioning, the server process, the HTTP API, workflows.

Nothing here imports ComfyUI: these modules talk to a ComfyUI server process over HTTP.
"""

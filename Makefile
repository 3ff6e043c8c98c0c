# Container images. Everything else runs through npm.
#   make image             the controller/webhook image [CONTROLLER_IMAGE=] [VERSION=]
#   make build-node-image  the bootc image        [FLAVOR=k3s|kubeadm] [IMAGE=] [TAG=] [K3S_VERSION=] [KUBERNETES_VERSION=]
#   make push-node-image   push it                (same variables)
#   make build-node-disk   the containerDisk KubeVirt boots, from the bootc image (podman only) [DISK_IMAGE=]
# podman is used when present, docker otherwise; set ENGINE to choose.

FLAVOR ?= k3s
IMAGE ?= quay.io/maroonedpods/node-bootc
# The controller's default nodeImage names this image: quay.io/maroonedpods/node:k3s-<version>.
DISK_IMAGE ?= quay.io/maroonedpods/node
K3S_VERSION ?= v1.35.4+k3s1
KUBERNETES_VERSION ?= v1.35.4
TAG ?= $(if $(filter kubeadm,$(FLAVOR)),kubeadm-$(KUBERNETES_VERSION),k3s-$(firstword $(subst +, ,$(K3S_VERSION))))
ifeq ($(origin ENGINE),undefined)
ENGINE := $(notdir $(shell command -v podman || command -v docker))
endif
BOOTC_IMAGE_BUILDER ?= quay.io/centos-bootc/bootc-image-builder:latest
DISK_OUTPUT ?= .maroonedpods/node-disk

NODE_CONTEXT := images/node
CONTAINERFILE_k3s := $(NODE_CONTEXT)/Containerfile.node
CONTAINERFILE_kubeadm := $(NODE_CONTEXT)/Containerfile.kubeadm
VERSION_ARG_k3s := K3S_VERSION=$(K3S_VERSION)
VERSION_ARG_kubeadm := KUBERNETES_VERSION=$(KUBERNETES_VERSION)

# Checked when a recipe expands, so `make -n` still prints the real commands.
require_engine = $(if $(ENGINE),,$(error neither podman nor docker is on PATH: install podman (preferred) or docker, or set ENGINE))
require_podman = $(if $(filter podman,$(ENGINE)),,$(error build-node-disk needs podman: bootc-image-builder reads the image from podman's storage))
require_flavor = $(if $(CONTAINERFILE_$(FLAVOR)),,$(error FLAVOR must be k3s or kubeadm, not "$(FLAVOR)"))

.PHONY: image build-node-image push-node-image build-node-disk

CONTROLLER_IMAGE ?= quay.io/maroonedpods/maroonedpods
VERSION ?= v$(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)

# One image for the controller and the webhook; the build context is the repository (.dockerignore trims it).
image:
	$(require_engine)$(ENGINE) build -f images/controller/Containerfile -t $(CONTROLLER_IMAGE):$(VERSION) .

build-node-image:
	$(require_flavor)$(require_engine)$(ENGINE) build -f $(CONTAINERFILE_$(FLAVOR)) --build-arg $(VERSION_ARG_$(FLAVOR)) -t $(IMAGE):$(TAG) $(NODE_CONTEXT)

push-node-image:
	$(require_flavor)$(require_engine)$(ENGINE) push $(IMAGE):$(TAG)

# bootc-image-builder runs privileged and as root (sudo make build-node-disk).
build-node-disk:
	$(require_flavor)$(require_podman)mkdir -p $(DISK_OUTPUT)
	$(ENGINE) run --rm --privileged --pull=newer --security-opt label=type:unconfined_t -v /var/lib/containers/storage:/var/lib/containers/storage -v $(abspath $(DISK_OUTPUT)):/output $(BOOTC_IMAGE_BUILDER) --type qcow2 --rootfs xfs $(IMAGE):$(TAG)
	$(ENGINE) build -f $(NODE_CONTEXT)/Containerfile.disk --build-arg NODE_IMAGE=$(IMAGE):$(TAG) -t $(DISK_IMAGE):$(TAG) $(DISK_OUTPUT)

/*
 * ddk/hal.h - HAL: port and register access, interrupts (KINTERRUPT), DMA adapters.
 */
#ifndef KMRIG_DDK_HAL_H
#define KMRIG_DDK_HAL_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"
#include "mm.h"
#include "io.h"

/* ---- interrupts ------------------------------------------------------------------------ */

typedef BOOLEAN NTAPI KSERVICE_ROUTINE(struct _KINTERRUPT *Interrupt, PVOID ServiceContext);
typedef KSERVICE_ROUTINE *PKSERVICE_ROUTINE;
typedef KSERVICE_ROUTINE KMESSAGE_SERVICE_ROUTINE_LINE; /* not message-signalled here */

NTKERNELAPI NTSTATUS NTAPI IoConnectInterrupt(PKINTERRUPT *InterruptObject,
                                              PKSERVICE_ROUTINE ServiceRoutine,
                                              PVOID ServiceContext, PKSPIN_LOCK SpinLock,
                                              ULONG Vector, KIRQL Irql, KIRQL SynchronizeIrql,
                                              KINTERRUPT_MODE InterruptMode, BOOLEAN ShareVector,
                                              KAFFINITY ProcessorEnableMask, BOOLEAN FloatingSave);
NTKERNELAPI VOID NTAPI IoDisconnectInterrupt(PKINTERRUPT InterruptObject);
NTHALAPI ULONG NTAPI HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                                           ULONG BusInterruptLevel, ULONG BusInterruptVector,
                                           PKIRQL Irql, PKAFFINITY Affinity);

/* ---- port and register access ----------------------------------------------------------
 * Always calls into the runtime (never an inline dereference): a register pointer comes from
 * MmMapIoSpace and is routed to the target by address window; a port is a number routed by
 * value. READ/WRITE_REGISTER_BUFFER_* walk incrementing addresses (as x86 `rep movs`);
 * READ/WRITE_PORT_BUFFER_* repeat one port (as `rep ins`/`rep outs`). */
NTHALAPI UCHAR NTAPI READ_PORT_UCHAR(PUCHAR Port);
NTHALAPI USHORT NTAPI READ_PORT_USHORT(PUSHORT Port);
NTHALAPI ULONG NTAPI READ_PORT_ULONG(PULONG Port);
NTHALAPI VOID NTAPI READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
NTHALAPI VOID NTAPI READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
NTHALAPI VOID NTAPI READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);
NTHALAPI VOID NTAPI WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value);
NTHALAPI VOID NTAPI WRITE_PORT_USHORT(PUSHORT Port, USHORT Value);
NTHALAPI VOID NTAPI WRITE_PORT_ULONG(PULONG Port, ULONG Value);
NTHALAPI VOID NTAPI WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
NTHALAPI VOID NTAPI WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
NTHALAPI VOID NTAPI WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);

NTKERNELAPI UCHAR NTAPI READ_REGISTER_UCHAR(volatile UCHAR *Register);
NTKERNELAPI USHORT NTAPI READ_REGISTER_USHORT(volatile USHORT *Register);
NTKERNELAPI ULONG NTAPI READ_REGISTER_ULONG(volatile ULONG *Register);
NTKERNELAPI VOID NTAPI READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer,
                                                  ULONG Count);
NTKERNELAPI VOID NTAPI READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                                   ULONG Count);
NTKERNELAPI VOID NTAPI READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer,
                                                  ULONG Count);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer,
                                                   ULONG Count);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer,
                                                    ULONG Count);
NTKERNELAPI VOID NTAPI WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer,
                                                   ULONG Count);

/* ---- device memory --------------------------------------------------------------------- */

NTKERNELAPI PVOID NTAPI MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                     MEMORY_CACHING_TYPE CacheType);
NTKERNELAPI VOID NTAPI MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes);

/* ---- DMA --------------------------------------------------------------------------------
 * Device DMA reaches host memory only through bus (logical) addresses the runtime entered in its
 * translation table: common buffers, contiguous and noncached memory (entered when allocated),
 * and map registers / scatter-gather lists while a transfer is mapped. Anything else is a DMA
 * fault: reported, and no host memory is touched. */

typedef enum _DMA_WIDTH {
    Width8Bits,
    Width16Bits,
    Width32Bits,
    Width64Bits,
    WidthNoWrap,
    MaximumDmaWidth
} DMA_WIDTH,
    *PDMA_WIDTH;
typedef enum _DMA_SPEED {
    Compatible,
    TypeA,
    TypeB,
    TypeC,
    TypeF,
    MaximumDmaSpeed
} DMA_SPEED,
    *PDMA_SPEED;

#define DEVICE_DESCRIPTION_VERSION 0
#define DEVICE_DESCRIPTION_VERSION1 1
#define DEVICE_DESCRIPTION_VERSION2 2
#define DEVICE_DESCRIPTION_VERSION3 3

typedef struct _DEVICE_DESCRIPTION {
    ULONG Version;
    BOOLEAN Master;
    BOOLEAN ScatterGather;
    BOOLEAN DemandMode;
    BOOLEAN AutoInitialize;
    BOOLEAN Dma32BitAddresses;
    BOOLEAN IgnoreCount;
    BOOLEAN Reserved1;
    BOOLEAN Dma64BitAddresses;
    ULONG BusNumber;
    ULONG DmaChannel;
    INTERFACE_TYPE InterfaceType;
    DMA_WIDTH DmaWidth;
    DMA_SPEED DmaSpeed;
    ULONG MaximumLength;
    ULONG DmaPort;
    ULONG DmaAddressWidth;          /* version 3 */
    ULONG DmaControllerInstance;    /* version 3 */
    ULONG DmaRequestLine;           /* version 3 */
    PHYSICAL_ADDRESS DeviceAddress; /* version 3 */
} DEVICE_DESCRIPTION, *PDEVICE_DESCRIPTION;
C_ASSERT(FIELD_OFFSET(DEVICE_DESCRIPTION, BusNumber) == 12);
C_ASSERT(FIELD_OFFSET(DEVICE_DESCRIPTION, MaximumLength) == 32);
C_ASSERT(sizeof(DEVICE_DESCRIPTION) == 64);

typedef struct _SCATTER_GATHER_ELEMENT {
    PHYSICAL_ADDRESS Address;
    ULONG Length;
    ULONG_PTR Reserved;
} SCATTER_GATHER_ELEMENT, *PSCATTER_GATHER_ELEMENT;

typedef struct _SCATTER_GATHER_LIST {
    ULONG NumberOfElements;
    ULONG_PTR Reserved;
    SCATTER_GATHER_ELEMENT Elements[];
} SCATTER_GATHER_LIST, *PSCATTER_GATHER_LIST;
C_ASSERT(sizeof(SCATTER_GATHER_ELEMENT) == 24);
C_ASSERT(FIELD_OFFSET(SCATTER_GATHER_LIST, Elements) == 16);

typedef VOID NTAPI DRIVER_LIST_CONTROL(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                       PSCATTER_GATHER_LIST ScatterGather, PVOID Context);
typedef DRIVER_LIST_CONTROL *PDRIVER_LIST_CONTROL;

typedef VOID NTAPI PUT_DMA_ADAPTER(PDMA_ADAPTER DmaAdapter);
typedef PVOID NTAPI ALLOCATE_COMMON_BUFFER(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                           PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled);
typedef VOID NTAPI FREE_COMMON_BUFFER(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                      PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                                      BOOLEAN CacheEnabled);
typedef NTSTATUS NTAPI ALLOCATE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter,
                                                PDEVICE_OBJECT DeviceObject,
                                                ULONG NumberOfMapRegisters,
                                                PDRIVER_CONTROL ExecutionRoutine, PVOID Context);
typedef BOOLEAN NTAPI FLUSH_ADAPTER_BUFFERS(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                            PVOID MapRegisterBase, PVOID CurrentVa, ULONG Length,
                                            BOOLEAN WriteToDevice);
typedef VOID NTAPI FREE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter);
typedef VOID NTAPI FREE_MAP_REGISTERS(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                                      ULONG NumberOfMapRegisters);
typedef PHYSICAL_ADDRESS NTAPI MAP_TRANSFER(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                            PVOID MapRegisterBase, PVOID CurrentVa, PULONG Length,
                                            BOOLEAN WriteToDevice);
typedef ULONG NTAPI GET_DMA_ALIGNMENT(PDMA_ADAPTER DmaAdapter);
typedef ULONG NTAPI READ_DMA_COUNTER(PDMA_ADAPTER DmaAdapter);
typedef NTSTATUS NTAPI GET_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                               PMDL Mdl, PVOID CurrentVa, ULONG Length,
                                               PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                               BOOLEAN WriteToDevice);
typedef VOID NTAPI PUT_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter,
                                           PSCATTER_GATHER_LIST ScatterGather,
                                           BOOLEAN WriteToDevice);
typedef NTSTATUS NTAPI CALCULATE_SCATTER_GATHER_LIST_SIZE(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                                          PVOID CurrentVa, ULONG Length,
                                                          PULONG ScatterGatherListSize,
                                                          PULONG NumberOfMapRegisters);
typedef NTSTATUS NTAPI BUILD_SCATTER_GATHER_LIST(
    PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl, PVOID CurrentVa, ULONG Length,
    PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context, BOOLEAN WriteToDevice,
    PVOID ScatterGatherBuffer, ULONG ScatterGatherLength);
typedef NTSTATUS NTAPI BUILD_MDL_FROM_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter,
                                                          PSCATTER_GATHER_LIST ScatterGather,
                                                          PMDL OriginalMdl, PMDL *TargetMdl);
typedef NTSTATUS NTAPI GET_DMA_ADAPTER_INFO(PDMA_ADAPTER DmaAdapter, PVOID AdapterInfo);
typedef NTSTATUS NTAPI GET_DMA_TRANSFER_INFO(PDMA_ADAPTER DmaAdapter, PMDL Mdl, ULONGLONG Offset,
                                             ULONG Length, BOOLEAN WriteOnly, PVOID TransferInfo);
typedef NTSTATUS NTAPI INITIALIZE_DMA_TRANSFER_CONTEXT(PDMA_ADAPTER DmaAdapter,
                                                       PVOID DmaTransferContext);
typedef PVOID NTAPI ALLOCATE_COMMON_BUFFER_EX(PDMA_ADAPTER DmaAdapter,
                                              PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
                                              PPHYSICAL_ADDRESS LogicalAddress,
                                              BOOLEAN CacheEnabled, ULONG PreferredNode);
typedef NTSTATUS NTAPI ALLOCATE_ADAPTER_CHANNEL_EX(PDMA_ADAPTER DmaAdapter,
                                                   PDEVICE_OBJECT DeviceObject,
                                                   PVOID DmaTransferContext,
                                                   ULONG NumberOfMapRegisters, ULONG Flags,
                                                   PDRIVER_CONTROL ExecutionRoutine,
                                                   PVOID ExecutionContext, PVOID *MapRegisterBase);
typedef NTSTATUS NTAPI CONFIGURE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter, ULONG FunctionNumber,
                                                 PVOID Context);
typedef BOOLEAN NTAPI CANCEL_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                             PVOID DmaTransferContext);
typedef NTSTATUS NTAPI MAP_TRANSFER_EX(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                       ULONGLONG Offset, ULONG DeviceOffset, PULONG Length,
                                       BOOLEAN WriteToDevice,
                                       PSCATTER_GATHER_LIST ScatterGatherBuffer,
                                       ULONG ScatterGatherBufferLength, PVOID DmaCompletionRoutine,
                                       PVOID CompletionContext);
typedef NTSTATUS NTAPI GET_SCATTER_GATHER_LIST_EX(
    PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext, PMDL Mdl,
    ULONGLONG Offset, ULONG Length, ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine,
    PVOID Context, BOOLEAN WriteToDevice, PVOID DmaCompletionRoutine, PVOID CompletionContext,
    PSCATTER_GATHER_LIST *ScatterGatherList);
typedef NTSTATUS NTAPI BUILD_SCATTER_GATHER_LIST_EX(
    PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext, PMDL Mdl,
    ULONGLONG Offset, ULONG Length, ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine,
    PVOID Context, BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer, ULONG ScatterGatherLength,
    PVOID DmaCompletionRoutine, PVOID CompletionContext, PVOID *ScatterGatherList);
typedef NTSTATUS NTAPI FLUSH_ADAPTER_BUFFERS_EX(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                                PVOID MapRegisterBase, ULONGLONG Offset,
                                                ULONG Length, BOOLEAN WriteToDevice);
typedef VOID NTAPI FREE_ADAPTER_OBJECT(PDMA_ADAPTER DmaAdapter,
                                       IO_ALLOCATION_ACTION AllocationAction);
typedef NTSTATUS NTAPI CANCEL_MAPPED_TRANSFER(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext);

/* DMA_OPERATIONS with the WDK's member order (version 3 set). The members kmrig has not
 * written fail loudly: NTSTATUS ones return STATUS_NOT_IMPLEMENTED, others return nothing
 * useful; each logs its name. */
typedef struct _DMA_OPERATIONS {
    ULONG Size;
    PUT_DMA_ADAPTER *PutDmaAdapter;
    ALLOCATE_COMMON_BUFFER *AllocateCommonBuffer;
    FREE_COMMON_BUFFER *FreeCommonBuffer;
    ALLOCATE_ADAPTER_CHANNEL *AllocateAdapterChannel;
    FLUSH_ADAPTER_BUFFERS *FlushAdapterBuffers;
    FREE_ADAPTER_CHANNEL *FreeAdapterChannel;
    FREE_MAP_REGISTERS *FreeMapRegisters;
    MAP_TRANSFER *MapTransfer;
    GET_DMA_ALIGNMENT *GetDmaAlignment;
    READ_DMA_COUNTER *ReadDmaCounter;
    GET_SCATTER_GATHER_LIST *GetScatterGatherList;
    PUT_SCATTER_GATHER_LIST *PutScatterGatherList;
    CALCULATE_SCATTER_GATHER_LIST_SIZE *CalculateScatterGatherList;
    BUILD_SCATTER_GATHER_LIST *BuildScatterGatherList;
    BUILD_MDL_FROM_SCATTER_GATHER_LIST *BuildMdlFromScatterGatherList;
    GET_DMA_ADAPTER_INFO *GetDmaAdapterInfo;
    GET_DMA_TRANSFER_INFO *GetDmaTransferInfo;
    INITIALIZE_DMA_TRANSFER_CONTEXT *InitializeDmaTransferContext;
    ALLOCATE_COMMON_BUFFER_EX *AllocateCommonBufferEx;
    ALLOCATE_ADAPTER_CHANNEL_EX *AllocateAdapterChannelEx;
    CONFIGURE_ADAPTER_CHANNEL *ConfigureAdapterChannel;
    CANCEL_ADAPTER_CHANNEL *CancelAdapterChannel;
    MAP_TRANSFER_EX *MapTransferEx;
    GET_SCATTER_GATHER_LIST_EX *GetScatterGatherListEx;
    BUILD_SCATTER_GATHER_LIST_EX *BuildScatterGatherListEx;
    FLUSH_ADAPTER_BUFFERS_EX *FlushAdapterBuffersEx;
    FREE_ADAPTER_OBJECT *FreeAdapterObject;
    CANCEL_MAPPED_TRANSFER *CancelMappedTransfer;
} DMA_OPERATIONS, *PDMA_OPERATIONS;
C_ASSERT(FIELD_OFFSET(DMA_OPERATIONS, MapTransfer) == 64);
C_ASSERT(FIELD_OFFSET(DMA_OPERATIONS, GetScatterGatherList) == 88);

struct _DMA_ADAPTER {
    USHORT Version;
    USHORT Size;
    PDMA_OPERATIONS DmaOperations;
};

NTKERNELAPI PDMA_ADAPTER NTAPI IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                               PDEVICE_DESCRIPTION DeviceDescription,
                                               PULONG NumberOfMapRegisters);

/* The DMA_OPERATIONS members, also callable directly (as the WDK's inline wrappers). */
NTKERNELAPI VOID NTAPI PutDmaAdapter(PDMA_ADAPTER DmaAdapter);
NTKERNELAPI PVOID NTAPI AllocateCommonBuffer(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                             PPHYSICAL_ADDRESS LogicalAddress,
                                             BOOLEAN CacheEnabled);
NTKERNELAPI VOID NTAPI FreeCommonBuffer(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                        PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                                        BOOLEAN CacheEnabled);
NTKERNELAPI NTSTATUS NTAPI AllocateAdapterChannel(PDMA_ADAPTER DmaAdapter,
                                                  PDEVICE_OBJECT DeviceObject,
                                                  ULONG NumberOfMapRegisters,
                                                  PDRIVER_CONTROL ExecutionRoutine, PVOID Context);
NTKERNELAPI BOOLEAN NTAPI FlushAdapterBuffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                              PVOID MapRegisterBase, PVOID CurrentVa, ULONG Length,
                                              BOOLEAN WriteToDevice);
NTKERNELAPI VOID NTAPI FreeAdapterChannel(PDMA_ADAPTER DmaAdapter);
NTKERNELAPI VOID NTAPI FreeMapRegisters(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                                        ULONG NumberOfMapRegisters);
NTKERNELAPI PHYSICAL_ADDRESS NTAPI MapTransfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                               PVOID MapRegisterBase, PVOID CurrentVa,
                                               PULONG Length, BOOLEAN WriteToDevice);
NTKERNELAPI ULONG NTAPI GetDmaAlignment(PDMA_ADAPTER DmaAdapter);
NTKERNELAPI ULONG NTAPI ReadDmaCounter(PDMA_ADAPTER DmaAdapter);
NTKERNELAPI NTSTATUS NTAPI GetScatterGatherList(PDMA_ADAPTER DmaAdapter,
                                                PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                                PVOID CurrentVa, ULONG Length,
                                                PDRIVER_LIST_CONTROL ExecutionRoutine,
                                                PVOID Context, BOOLEAN WriteToDevice);
NTKERNELAPI VOID NTAPI PutScatterGatherList(PDMA_ADAPTER DmaAdapter,
                                            PSCATTER_GATHER_LIST ScatterGather,
                                            BOOLEAN WriteToDevice);

/* The legacy adapter routines (obsolete in the WDK, still in drivers). */
NTKERNELAPI NTSTATUS NTAPI IoAllocateAdapterChannel(PADAPTER_OBJECT AdapterObject,
                                                    PDEVICE_OBJECT DeviceObject,
                                                    ULONG NumberOfMapRegisters,
                                                    PDRIVER_CONTROL ExecutionRoutine,
                                                    PVOID Context);
NTKERNELAPI VOID NTAPI IoFreeAdapterChannel(PADAPTER_OBJECT AdapterObject);
NTKERNELAPI VOID NTAPI IoFreeMapRegisters(PADAPTER_OBJECT AdapterObject, PVOID MapRegisterBase,
                                          ULONG NumberOfMapRegisters);
NTKERNELAPI PHYSICAL_ADDRESS NTAPI IoMapTransfer(PADAPTER_OBJECT AdapterObject, PMDL Mdl,
                                                 PVOID MapRegisterBase, PVOID CurrentVa,
                                                 PULONG Length, BOOLEAN WriteToDevice);
NTKERNELAPI BOOLEAN NTAPI IoFlushAdapterBuffers(PADAPTER_OBJECT AdapterObject, PMDL Mdl,
                                                PVOID MapRegisterBase, PVOID CurrentVa,
                                                ULONG Length, BOOLEAN WriteToDevice);

/* Physically contiguous / noncached memory: entered in the DMA translation table when
 * allocated, so the address MmGetPhysicalAddress gives for it is one the device may use. */
NTKERNELAPI PVOID NTAPI MmAllocateContiguousMemory(SIZE_T NumberOfBytes,
                                                   PHYSICAL_ADDRESS HighestAcceptableAddress);
NTKERNELAPI VOID NTAPI MmFreeContiguousMemory(PVOID BaseAddress);
NTKERNELAPI PVOID NTAPI MmAllocateNonCachedMemory(SIZE_T NumberOfBytes);
NTKERNELAPI VOID NTAPI MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes);
/* The bus address of a DMA-entered address; for any other memory a frame address the device
 * cannot reach (host address), consistent with the MDL frame numbers. */
NTKERNELAPI PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress);
/* x86/x64 are cache coherent for DMA: nothing to flush; the IRQL rule is checked. */
NTKERNELAPI VOID NTAPI KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation);

#endif
